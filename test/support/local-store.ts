import { readFileSync } from 'node:fs';
import { type AccessReviewConfig, parseConfig } from '../../functions/core/config';
import type { Services } from '../../functions/runtime/services';
import { takeSnapshot } from '../../functions/steps/snapshot';
import type { CampaignStatus } from '../../functions/store/campaigns';
import { createStore, type Store } from '../../functions/store/index';
import { type LocalDynamo, startLocalDynamo } from '../../lib/local/dynamo';
import { type LocalTableSchema, synthesizeForLocalHost } from '../../lib/local/synthesized-workflow';
import { TABLE_SCHEMA_VARIABLE } from '../global-setup';

/** The smallest valid configuration: organisation acme, alice as the only reviewer. */
export const TEST_CONFIG: AccessReviewConfig = parseConfig({
  github: { organization: 'acme' },
  routing: { fallbackReviewers: ['alice'] },
  people: [{ github: 'alice', email: 'alice@acme.example' }],
});

/**
 * The table the CDK stack synthesizes for TEST_CONFIG: from the file test/global-setup.ts wrote once
 * for the run, or synthesized here when a test runs without it.
 */
function testTableSchema(): LocalTableSchema {
  const file = process.env[TABLE_SCHEMA_VARIABLE];
  return file
    ? (JSON.parse(readFileSync(file, 'utf8')) as LocalTableSchema)
    : synthesizeForLocalHost(TEST_CONFIG).table;
}

/** dynalite in memory, with the table the CDK stack synthesizes. Close `dynamo` after the tests. */
export async function startTestStore(tableName: string): Promise<{ dynamo: LocalDynamo; store: Store }> {
  const dynamo = await startLocalDynamo({ tableName, schema: testTableSchema() });
  return { dynamo, store: createStore(dynamo.table) };
}

const unused = (what: string) => async (): Promise<never> => {
  throw new Error(`${what} is not part of this test`);
};

/** Services for calling steps directly; everything a test does not give fails loudly if used. */
export function testServices(store: Store, overrides: Partial<Services> = {}): Services {
  return {
    config: TEST_CONFIG,
    store,
    connectors: { names: ['github'], get: unused('GitHub') },
    slack: unused('Slack'),
    tasks: { succeed: unused('SendTaskSuccess') },
    now: () => new Date(),
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    progress: () => undefined,
    ...overrides,
  };
}

/** A campaign record in the given status, as the workflow would have left it. */
export async function createTestCampaign(
  store: Store,
  campaignId: string,
  status: CampaignStatus,
  startedAt = new Date(),
): Promise<void> {
  await store.campaigns.create({
    campaignId,
    organization: 'acme',
    status,
    trigger: 'test',
    requestedBy: 'vitest',
    executionName: campaignId,
    startedAt: startedAt.toISOString(),
    counts: {},
  });
}

/**
 * A campaign at the point ApplyRevocations starts: snapshotted through `services`' connectors,
 * `grantId` assigned to alice, who decided to revoke it.
 */
export async function campaignDecidedToRevoke(
  store: Store,
  services: Services,
  campaignId: string,
  grantId: string,
  startedAt = new Date(),
): Promise<void> {
  await createTestCampaign(store, campaignId, 'snapshotting', startedAt);
  await takeSnapshot({ campaignId }, services);
  await store.grants.assign(campaignId, grantId, 'alice', 'owner of the resource');
  await store.decisions.record({
    campaignId,
    grantId,
    decision: 'revoke',
    reviewer: 'alice',
    decidedBySlackUserId: 'U0ALICE01',
    decidedAt: new Date().toISOString(),
    channel: 'slack',
  });
  await store.campaigns.advance(campaignId, 'in_review');
}
