import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../../functions/connectors/connector';
import type { Services } from '../../../functions/runtime/services';
import { applyRevocations } from '../../../functions/steps/apply-revocations';
import { takeSnapshot } from '../../../functions/steps/snapshot';
import { verifyRevocations } from '../../../functions/steps/verify-revocations';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import { passGuard } from '../../support/guard';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';
import { acmeOrganization, connectorFor, startSandbox, writeRequests } from '../github/helpers';

/*
 * ApplyRevocations and VerifyRevocations past one Lambda: when the invocation's time runs short they
 * stop between two revocations and report `complete: false`; called again (the workflow's loop),
 * they go on after what is recorded, sending nothing twice, and the last call reports every count.
 */
let dynamo: LocalDynamo;
let store: Store;
let sandbox: GitHubSandbox;
let services: Services;

beforeAll(async () => {
  sandbox = await startSandbox(await acmeOrganization());
  ({ dynamo, store } = await startTestStore('revocation-shards'));
  services = testServices(store, {
    connectors: connectorRegistry({ github: async () => connectorFor(sandbox) }),
  });
});

afterAll(async () => {
  await dynamo?.close();
  await sandbox?.close();
});

/** Services whose invocation has time for `checks` time checks, then is told its time is short. */
function withTimeFor(checks: number): Services {
  let left = checks;
  return { ...services, timeLeftMs: () => (left-- > 0 ? 900_000 : 30_000) };
}

describe('revocations in several invocations', () => {
  it('applies and verifies each revocation once, two per invocation, and the last call has every count', async () => {
    const campaignId = 'c-revocation-shards';
    // Every team membership in acme, all decided "revoke" by alice.
    await createTestCampaign(store, campaignId, 'snapshotting');
    await takeSnapshot({ campaignId }, services);
    const memberships = (await store.grants.list(campaignId)).filter(
      (grant) => grant.resourceType === 'team' && grant.principalType === 'user',
    );
    expect(memberships.length).toBeGreaterThanOrEqual(4);
    for (const grant of memberships) {
      await store.grants.assign(campaignId, grant.grantId, 'alice', 'owner of the resource');
      await store.decisions.record({
        campaignId,
        grantId: grant.grantId,
        decision: 'revoke',
        reviewer: 'alice',
        decidedBySlackUserId: 'U0ALICE01',
        decidedAt: new Date().toISOString(),
        channel: 'slack',
      });
    }
    await store.campaigns.advance(campaignId, 'in_review');
    await passGuard(store, services, campaignId);
    sandbox.requests.length = 0;

    const applied = [];
    for (let call = 0; call < 50; call++) {
      const output = await applyRevocations({ campaignId }, withTimeFor(2));
      applied.push(output);
      if (output.complete) break;
    }
    const last = applied.at(-1)!;
    expect(applied.length).toBe(Math.ceil(memberships.length / 2));
    expect(applied.slice(0, -1).every((output) => !output.complete)).toBe(true);
    expect(last).toMatchObject({
      complete: true,
      requested: memberships.length,
      removed: memberships.length,
    });
    // Each membership removed once at GitHub, and recorded once in the chain.
    const deletes = writeRequests(sandbox).map((request) => `${request.method} ${request.path}`);
    expect(deletes.length).toBe(memberships.length);
    expect(new Set(deletes).size).toBe(memberships.length);
    const events = (await store.events.list(campaignId)).filter((e) => e.type === 'revocation_applied');
    expect(events.map((e) => e.data.grantId).sort()).toEqual(memberships.map((g) => g.grantId).sort());

    const verified = [];
    for (let call = 0; call < 50; call++) {
      const output = await verifyRevocations({ campaignId }, withTimeFor(3));
      verified.push(output);
      if (output.complete) break;
    }
    expect(verified.length).toBe(Math.ceil(memberships.length / 3));
    expect(verified.at(-1)).toEqual({
      campaignId,
      complete: true,
      checked: memberships.length,
      confirmedAbsent: memberships.length,
      stillPresent: 0,
    });
    const checks = (await store.events.list(campaignId)).filter((e) => e.type === 'revocation_verified');
    expect(checks.length).toBe(memberships.length);
  });
});
