import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../../functions/connectors/connector';
import { orgMembershipKey, userRepositoryKey } from '../../../functions/connectors/github/keys';
import { downgradedGrantId } from '../../../functions/core/downgrade';
import { grantIdOf } from '../../../functions/core/grant';
import { evaluateRevocationGuard } from '../../../functions/core/revocation-guard';
import type { Services } from '../../../functions/runtime/services';
import { applyRevocations } from '../../../functions/steps/apply-revocations';
import { takeSnapshot } from '../../../functions/steps/snapshot';
import { verifyRevocations } from '../../../functions/steps/verify-revocations';
import type { DecisionValue } from '../../../functions/store/decisions';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import { findMember, findRepository, type OrganizationInput } from '../../../sandbox/github/state';
import { createTestCampaign, startTestStore, TEST_CONFIG, testServices } from '../../support/local-store';
import { connectorFor, startSandbox } from '../github/helpers';

/**
 * A downgrade end to end in the GitHub sandbox: the guard's verdict, ApplyRevocations lowering
 * the grant through the connector, VerifyRevocations reading GitHub again, and the chain's
 * revocation_applied / revocation_verified events with `operation: 'downgrade'`.
 */
const ORG: OrganizationInput = {
  login: 'acme',
  viewer: 'accessbot',
  basePermission: 'read',
  members: [
    { login: 'alice', role: 'owner' },
    { login: 'dave', role: 'owner' },
    { login: 'accessbot', role: 'owner' },
    { login: 'bob' },
    { login: 'carol' },
    { login: 'erin' },
  ],
  teams: [{ slug: 'platform', members: ['carol'], repositories: { api: 'admin' } }],
  repositories: [
    { name: 'api', collaborators: { bob: 'admin', carol: 'admin', erin: 'admin' } },
    { name: 'web', collaborators: {} },
  ],
};

const id = {
  bob: grantIdOf(userRepositoryKey('acme', 'api', 'bob', 'admin', { kind: 'direct' })),
  carol: grantIdOf(userRepositoryKey('acme', 'api', 'carol', 'admin', { kind: 'direct' })),
  erin: grantIdOf(userRepositoryKey('acme', 'api', 'erin', 'admin', { kind: 'direct' })),
  daveOwner: grantIdOf(orgMembershipKey('acme', 'dave', 'owner')),
};

let dynamo: LocalDynamo;
let store: Store;
let sandbox: GitHubSandbox;
let services: Services;
let counter = 0;
let campaignId: string;

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('downgrade-apply-verify'));
});
afterAll(async () => {
  await dynamo?.close();
});
beforeEach(async () => {
  await sandbox?.close();
  sandbox = await startSandbox(ORG);
  services = testServices(store, {
    config: { ...TEST_CONFIG, revocationGuard: { ...TEST_CONFIG.revocationGuard, maxRevokedPercent: 100 } },
    connectors: connectorRegistry({ github: async () => connectorFor(sandbox) }),
  });
  campaignId = `dg-${++counter}`;
  await createTestCampaign(store, campaignId, 'snapshotting');
  await takeSnapshot({ campaignId }, services);
});

async function decide(grantId: string, decision: DecisionValue, downgradeTo?: string) {
  await store.grants.assign(campaignId, grantId, 'alice', 'owner of acme/api');
  await store.decisions.record({
    campaignId,
    grantId,
    decision,
    reviewer: 'alice',
    decidedBySlackUserId: 'U0ALICE01',
    decidedAt: new Date().toISOString(),
    channel: 'slack',
    ...(downgradeTo ? { downgradeTo } : {}),
  });
}

/**
 * The guard's verdict as CheckRevocations stores it once it hands the guard the downgrade
 * decisions too (evaluateRevocationGuard's `downgrade`), with every held one approved.
 */
async function guardAndApprove() {
  const decisions = await store.decisions.list(campaignId);
  const verdict = evaluateRevocationGuard({
    grants: await store.grants.list(campaignId),
    revoke: decisions.filter((d) => d.decision === 'revoke').map((d) => d.grantId),
    downgrade: decisions.filter((d) => d.decision === 'downgrade').map((d) => d.grantId),
    limits: services.config.revocationGuard,
    ownIdentities: { github: ['accessbot'], aws: [] },
  });
  for (const item of verdict.items) {
    await store.approvals.putGuardItem({
      campaignId,
      ...item,
      outcome: item.outcome === 'held' ? 'allowed' : item.outcome,
    });
  }
  const { items: _items, ...figures } = verdict;
  await store.approvals.putGuardSummary({
    campaignId,
    ...figures,
    evaluatedAt: new Date().toISOString(),
    limits: { maxRevokedPercent: 100, maxPerPrincipal: 100, approvalWindowHours: 24 },
    ownIdentities: { github: ['accessbot'], aws: [] },
    breakGlass: { github: [], aws: [] },
  });
  await store.campaigns.advance(campaignId, 'in_review');
  return verdict;
}

const eventsOf = async (type: string) =>
  (await store.events.list(campaignId)).filter((event) => event.type === type);

describe('downgrade: apply and verify in the GitHub sandbox', () => {
  it("lowers bob's admin to write, verified: admin gone by every path, write held directly", async () => {
    await decide(id.bob, 'downgrade', 'write');
    await decide(id.erin, 'revoke');
    const verdict = await guardAndApprove();
    expect(verdict).toMatchObject({ revocations: 2, downgrades: 1 });

    const applied = await applyRevocations({ campaignId }, services);
    expect(applied).toMatchObject({ requested: 2, downgrades: 1, removed: 2, failed: 0, complete: true });
    expect(findRepository(sandbox.state, 'api')?.collaborators.get('bob')?.permission).toBe('write');
    expect(findRepository(sandbox.state, 'api')?.collaborators.has('erin')).toBe(false);

    const verified = await verifyRevocations({ campaignId }, services);
    expect(verified).toMatchObject({
      checked: 2,
      confirmedAbsent: 2,
      stillPresent: 0,
      downgradeTargetMissing: 0,
    });

    const bobApplied = (await eventsOf('revocation_applied')).find((event) => event.data.grantId === id.bob);
    expect(bobApplied?.data).toMatchObject({
      status: 'removed',
      operation: 'downgrade',
      to: 'write',
      toGrantId: downgradedGrantId(
        userRepositoryKey('acme', 'api', 'bob', 'admin', { kind: 'direct' }),
        'write',
      ),
    });
    expect(String(bobApplied?.data.action)).toContain(
      'PUT /repos/acme/api/collaborators/bob {"permission":"push"}',
    );
    const erinApplied = (await eventsOf('revocation_applied')).find(
      (event) => event.data.grantId === id.erin,
    );
    expect(erinApplied?.data).not.toHaveProperty('operation');

    const bobVerified = (await eventsOf('revocation_verified')).find(
      (event) => event.data.grantId === id.bob,
    );
    expect(bobVerified?.data).toMatchObject({
      status: 'absent',
      paths: [],
      operation: 'downgrade',
      to: 'write',
      toHeld: true,
      toPaths: [{ via: 'direct', permission: 'write' }],
    });
    // The stored records say the same (Finalize's recovery rebuilds events from them).
    expect(await store.outcomes.getRevocation(campaignId, id.bob)).toMatchObject({
      operation: 'downgrade',
      to: 'write',
    });
    expect(await store.outcomes.getVerification(campaignId, id.bob)).toMatchObject({ toHeld: true });
  });

  it('says so when a team still gives the old entitlement: verification is present via the team', async () => {
    await decide(id.carol, 'downgrade', 'write');
    await guardAndApprove();
    await applyRevocations({ campaignId }, services);
    expect(findRepository(sandbox.state, 'api')?.collaborators.get('carol')?.permission).toBe('write');
    const verified = await verifyRevocations({ campaignId }, services);
    expect(verified).toMatchObject({
      checked: 1,
      confirmedAbsent: 0,
      stillPresent: 1,
      downgradeTargetMissing: 0,
    });
    const event = (await eventsOf('revocation_verified'))[0];
    expect(event?.data).toMatchObject({
      status: 'present',
      paths: [{ via: 'team:acme/platform', permission: 'admin' }],
      operation: 'downgrade',
      toHeld: true,
    });
  });

  it('demotes an owner to member through the guard (held for an owner, approved here)', async () => {
    await decide(id.daveOwner, 'downgrade', 'member');
    const verdict = await guardAndApprove();
    expect(verdict.items[0]?.reasons.map((reason) => reason.code)).toContain('org_owner');
    await applyRevocations({ campaignId }, services);
    expect(findMember(sandbox.state, 'dave')?.role).toBe('member');
    expect(await verifyRevocations({ campaignId }, services)).toMatchObject({ confirmedAbsent: 1 });
  });

  it('records a downgrade GitHub refuses as failed, and one without a target as failed, changing nothing', async () => {
    sandbox.state.basePermission = 'write';
    await decide(id.bob, 'downgrade', 'read');
    await decide(id.erin, 'downgrade');
    await guardAndApprove();
    const applied = await applyRevocations({ campaignId }, services);
    expect(applied).toMatchObject({ requested: 2, failed: 2, removed: 0 });
    const failed = await eventsOf('revocation_failed');
    expect(failed.find((event) => event.data.grantId === id.bob)?.data.error).toMatch(
      /Cannot assign bob permission of pull/,
    );
    expect(failed.find((event) => event.data.grantId === id.erin)?.data.error).toMatch(
      /names no entitlement/,
    );
    expect(findRepository(sandbox.state, 'api')?.collaborators.get('bob')?.permission).toBe('admin');
  });

  it('applies a downgrade the guard never saw as not downgraded (held, not approved)', async () => {
    await decide(id.bob, 'downgrade', 'write');
    // The guard ran over revocations only: the downgrade has no verdict of its own.
    await decide(id.erin, 'revoke');
    const decisions = await store.decisions.list(campaignId);
    const verdict = evaluateRevocationGuard({
      grants: await store.grants.list(campaignId),
      revoke: decisions.filter((d) => d.decision === 'revoke').map((d) => d.grantId),
      limits: services.config.revocationGuard,
      ownIdentities: { github: ['accessbot'], aws: [] },
    });
    for (const item of verdict.items) await store.approvals.putGuardItem({ campaignId, ...item });
    const { items: _items, ...figures } = verdict;
    await store.approvals.putGuardSummary({
      campaignId,
      ...figures,
      evaluatedAt: new Date().toISOString(),
      limits: { maxRevokedPercent: 100, maxPerPrincipal: 100, approvalWindowHours: 24 },
      ownIdentities: { github: ['accessbot'], aws: [] },
      breakGlass: { github: [], aws: [] },
    });
    await store.campaigns.advance(campaignId, 'in_review');
    const applied = await applyRevocations({ campaignId }, services);
    expect(applied).toMatchObject({ rejected: 1, removed: 1 });
    expect((await eventsOf('revocation_rejected'))[0]?.data).toMatchObject({
      grantId: id.bob,
      operation: 'downgrade',
      action: 'not downgraded: the revocation guard did not check this decision',
    });
    expect(findRepository(sandbox.state, 'api')?.collaborators.get('bob')?.permission).toBe('admin');
  });

  it('applies nothing for a campaign cancelled before revocations began', async () => {
    await decide(id.bob, 'downgrade', 'write');
    await guardAndApprove();
    await store.campaigns.cancel(campaignId, {
      by: 'U0SEC0001',
      byName: 'sam',
      reason: null,
      phase: 'in_review',
      at: new Date().toISOString(),
    });
    const applied = await applyRevocations({ campaignId }, services);
    expect(applied).toMatchObject({ cancelled: true, requested: 0, complete: true });
    expect(findRepository(sandbox.state, 'api')?.collaborators.get('bob')?.permission).toBe('admin');
    expect(await eventsOf('revocation_applied')).toEqual([]);
  });
});
