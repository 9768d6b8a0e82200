import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckResult, type Connector, connectorRegistry } from '../../functions/connectors/connector';
import { makeGrant } from '../../functions/core/grant';
import { summarizeCampaign } from '../../functions/evidence/summary';
import { takeSnapshot } from '../../functions/steps/snapshot';
import type { Store } from '../../functions/store/index';
import type { LocalDynamo } from '../../lib/local/dynamo';
import { renderSummary } from '../../lib/local/report';
import { createTestCampaign, startTestStore, testServices } from '../support/local-store';

/*
 * The end-of-run report lists, under "Needs attention", trusts anyone could match that the
 * reviewers kept: a wildcard OIDC subject and a `*` principal; not those revoked or derived.
 */
let dynamo: LocalDynamo;
let store: Store;

const trust = (subject: string) =>
  makeGrant(
    {
      connector: 'aws',
      grantKind: 'oidc_role_trust',
      resourceType: 'iam_role',
      resource: 'arn:aws:iam::111122223333:role/ci',
      principalType: 'oidc_subject',
      principal: subject,
      entitlement: 'assume',
      via: { kind: 'trust_policy' },
    },
    { raw: { roleName: 'ci' }, flags: subject.includes('*') ? ['wildcard_subject'] : [] },
  );
const anyone = makeGrant(
  {
    connector: 'aws',
    grantKind: 'secret_read',
    resourceType: 'aws_secret',
    resource: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbC123',
    principalType: 'aws_anyone',
    principal: '*',
    entitlement: 'read',
    via: { kind: 'resource_policy' },
  },
  { raw: { secretName: 'prod/db' }, flags: ['any_principal'] },
);
const kept = trust('repo:acme/*');
const revoked = trust('repo:other/*');
const narrow = trust('repo:acme/api:ref:refs/heads/main');

const connector: Connector = {
  name: 'aws',
  async *snapshot() {
    yield* [kept, revoked, narrow, anyone];
  },
  async revoke() {
    return { outcome: 'removed', appliedAt: new Date().toISOString(), action: 'narrowed' };
  },
  async check(): Promise<CheckResult> {
    return { status: 'absent', checkedAt: new Date().toISOString() };
  },
  usage: () => ({ requests: {}, points: {} }),
};

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('report'));
  const services = testServices(store, { connectors: connectorRegistry({ aws: async () => connector }) });
  await createTestCampaign(store, 'c-report', 'snapshotting');
  await takeSnapshot({ campaignId: 'c-report' }, services);
  for (const [grant, decision] of [
    [kept, 'keep'],
    [revoked, 'revoke'],
    [narrow, 'keep'],
    [anyone, 'keep'],
  ] as const) {
    await store.grants.assign('c-report', grant.grantId, 'alice', 'owner of aws_account 111122223333');
    await store.decisions.record({
      campaignId: 'c-report',
      grantId: grant.grantId,
      decision,
      reviewer: 'alice',
      decidedBySlackUserId: 'U0ALICE01',
      decidedAt: new Date().toISOString(),
      channel: 'slack',
    });
  }
});

afterAll(async () => {
  await dynamo?.close();
});

describe('the run report', () => {
  it('lists kept wildcard subjects and any-principal reads for the security team', async () => {
    const report = await renderSummary(store, await summarizeCampaign(store, 'c-report'));
    const findings = report.split('\n').filter((line) => /WILDCARD SUBJECT|ANY PRINCIPAL/.test(line));
    expect(findings.sort()).toEqual([
      '  - ANY PRINCIPAL kept by alice: anyone (*) read on secret prod/db (111122223333)',
      '  - WILDCARD SUBJECT kept by alice: GitHub Actions OIDC subject repo:acme/* assume on role ci (111122223333)',
    ]);
  });
});
