import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../../functions/connectors/connector';
import { orgMembershipKey } from '../../../functions/connectors/github/keys';
import { grantIdOf } from '../../../functions/core/grant';
import type { Services } from '../../../functions/runtime/services';
import { applyRevocations } from '../../../functions/steps/apply-revocations';
import { checkRevocations } from '../../../functions/steps/check-revocations';
import { rejectHeldRevocations } from '../../../functions/steps/reject-held-revocations';
import { takeSnapshot } from '../../../functions/steps/snapshot';
import { verifyRevocations } from '../../../functions/steps/verify-revocations';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import { findMember } from '../../../sandbox/github/state';
import { passGuard } from '../../support/guard';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';
import { acmeOrganization, connectorFor, startSandbox, writeRequests } from '../github/helpers';

/*
 * The revocation guard against the GitHub sandbox and dynalite, step by step, as the workflow runs
 * it. The incident it exists for: reviewers demoted and removed every owner, the tool's own
 * identity included, and the organisation was left with no members. Here the tool signs in as
 * access-review-bot (what GET /user answers), an owner like alice and frank.
 */
let dynamo: LocalDynamo;
let store: Store;
let sandbox: GitHubSandbox;
let services: Services;

const OWNERS = ['alice', 'frank', 'access-review-bot'];
const ownerGrants = (logins: string[]) =>
  logins.flatMap((login) => [
    grantIdOf(orgMembershipKey('acme', login, 'owner')),
    grantIdOf(orgMembershipKey('acme', login, 'member')),
  ]);

async function campaignRevoking(campaignId: string, grantIds: string[]): Promise<void> {
  await createTestCampaign(store, campaignId, 'snapshotting');
  await takeSnapshot({ campaignId }, services);
  for (const grantId of grantIds) {
    await store.grants.assign(campaignId, grantId, 'erin', 'fallback reviewer');
    await store.decisions.record({
      campaignId,
      grantId,
      decision: 'revoke',
      reviewer: 'erin',
      decidedBySlackUserId: 'U0ERIN001',
      decidedAt: new Date().toISOString(),
      channel: 'slack',
    });
  }
  await store.campaigns.advance(campaignId, 'in_review');
}

const owners = () =>
  [...sandbox.state.members.values()].filter((member) => member.role === 'owner').map((m) => m.login);

beforeAll(async () => {
  const organization = await acmeOrganization();
  organization.viewer = 'access-review-bot';
  organization.members = [...organization.members, { login: 'access-review-bot', role: 'owner' }];
  sandbox = await startSandbox(organization);
  ({ dynamo, store } = await startTestStore('revocation-guard'));
  services = testServices(store, {
    connectors: connectorRegistry({ github: async () => connectorFor(sandbox) }),
  });
});

afterAll(async () => {
  await dynamo?.close();
  await sandbox?.close();
});

describe('the revocation guard on a campaign that revokes every owner', () => {
  it('holds the owners, forbids the tool itself, and a rejection leaves the organisation its owners', async () => {
    const campaignId = 'c-incident';
    await campaignRevoking(campaignId, ownerGrants(OWNERS));

    const checked = await checkRevocations({ campaignId }, services);
    expect(checked).toEqual({ campaignId, revocations: 6, allowed: 0, held: 4, forbidden: 2 });
    const summary = await store.approvals.getGuardSummary(campaignId);
    // The tool's identity came from GitHub (GET /user), not from configuration.
    expect(summary?.ownIdentities.github).toEqual(['access-review-bot']);
    const evaluated = (await store.events.list(campaignId)).filter(
      (e) => e.type === 'revocation_guard_evaluated',
    );
    expect(evaluated).toHaveLength(1);
    expect(summary?.eventSeq).toBe(evaluated[0]?.seq);
    const held = evaluated[0]!.data.held as Array<{
      grantId: string;
      outcome: string;
      reasons: Array<{ code: string }>;
    }>;
    expect(held).toHaveLength(6);
    const alice = held.find(
      (item) => item.grantId === grantIdOf(orgMembershipKey('acme', 'alice', 'owner')),
    )!;
    expect(alice.reasons[0]?.code).toBe('org_owner');
    expect(alice.reasons.some((r) => r.code === 'last_owner')).toBe(true);

    // A retried check evaluates nothing again and writes no second event.
    expect(await checkRevocations({ campaignId }, services)).toEqual(checked);
    expect(
      (await store.events.list(campaignId)).filter((e) => e.type === 'revocation_guard_evaluated'),
    ).toHaveLength(1);

    await passGuard(store, services, campaignId, 'rejected');
    sandbox.requests.length = 0;
    const applied = await applyRevocations({ campaignId }, services);

    expect(applied).toMatchObject({ requested: 6, removed: 0, failed: 0, rejected: 4, refusedProtected: 2 });
    expect(writeRequests(sandbox)).toEqual([]);
    expect(owners().sort()).toEqual([...OWNERS].sort());
    const outcomes = await store.outcomes.listRevocations(campaignId);
    expect(outcomes.map((r) => r.status).sort()).toEqual([
      'refused_protected',
      'refused_protected',
      'rejected',
      'rejected',
      'rejected',
      'rejected',
    ]);
    const rejected = outcomes.find((r) => r.status === 'rejected')!;
    expect(rejected.action).toMatch(
      /^not revoked: held by the revocation guard and rejected by erin \(Slack U0ERIN001\)/,
    );
    expect(rejected.guardReasons?.[0]?.code).toBe('org_owner');
    const events = await store.events.list(campaignId);
    expect(events.filter((e) => e.type === 'revocation_rejected')).toHaveLength(4);
    expect(events.filter((e) => e.type === 'revocation_refused')).toHaveLength(2);
    expect(outcomes.every((r) => r.eventSeq !== undefined)).toBe(true);

    // Nothing was removed, so nothing is read back.
    expect(await verifyRevocations({ campaignId }, services)).toMatchObject({ checked: 0 });
  });

  it('applies an approved batch as the reviewers decided', async () => {
    const campaignId = 'c-approved';
    await campaignRevoking(campaignId, ownerGrants(['alice', 'frank']));
    const checked = await checkRevocations({ campaignId }, services);
    expect(checked).toMatchObject({ held: 4, forbidden: 0 });
    // access-review-bot is an owner too, but the tool does not count as someone who answers for
    // the organisation: the last human owners are protected.
    const items = await store.approvals.listGuardItems(campaignId);
    expect(items.every((item) => item.reasons.some((r) => r.code === 'last_owner'))).toBe(true);

    await passGuard(store, services, campaignId, 'approved');
    const applied = await applyRevocations({ campaignId }, services);
    expect(applied).toMatchObject({ requested: 4, removed: 4, rejected: 0, refusedProtected: 0 });
    expect(owners()).toEqual(['access-review-bot']);
  });

  it('rejects the held revocations when nobody answers within the window', async () => {
    const campaignId = 'c-silent';
    // A percent limit of 0 holds every revocation.
    const strict: Services = {
      ...services,
      config: {
        ...services.config,
        revocationGuard: { ...services.config.revocationGuard, maxRevokedPercent: 0 },
      },
    };
    const carol = grantIdOf(orgMembershipKey('acme', 'carol', 'member'));
    await campaignRevoking(campaignId, [carol]);
    expect(await checkRevocations({ campaignId }, strict)).toMatchObject({ held: 1, forbidden: 0 });
    await rejectHeldRevocations(
      { campaignId, error: { Error: 'States.Timeout', Cause: 'window closed' } },
      strict,
    );
    const approval = await store.approvals.get(campaignId);
    expect(approval).toMatchObject({
      status: 'expired',
      expiredReason: 'no answer within the approval window',
    });
    const expired = () =>
      store.events.list(campaignId).then((all) => all.filter((e) => e.type === 'revocation_batch_expired'));
    expect(await expired()).toHaveLength(1);
    // A second timeout (a retried step) records nothing more, and no late approval can follow.
    await rejectHeldRevocations({ campaignId, error: { Error: 'States.Timeout' } }, strict);
    expect(await expired()).toHaveLength(1);
    expect(
      await store.approvals.decide(
        campaignId,
        'approved',
        { login: 'erin', slackUserId: 'U0ERIN001' },
        new Date(),
      ),
    ).toBeUndefined();
    const applied = await applyRevocations({ campaignId }, strict);
    expect(applied).toMatchObject({ requested: 1, removed: 0, rejected: 1 });
    expect((await store.outcomes.getRevocation(campaignId, carol))?.action).toBe(
      'not revoked: held by the revocation guard and not approved: no answer within the approval window',
    );
    expect(findMember(sandbox.state, 'carol')).toBeDefined();
  });

  it('refuses to apply anything the guard has not checked', async () => {
    const campaignId = 'c-unchecked';
    await campaignRevoking(campaignId, [grantIdOf(orgMembershipKey('acme', 'carol', 'member'))]);
    await expect(applyRevocations({ campaignId }, services)).rejects.toThrow(/no revocation guard verdict/);
    expect(await store.outcomes.listRevocations(campaignId)).toEqual([]);
  });
});

describe('the GitHub sandbox and connector on the last owner', () => {
  it('refuses to demote or remove the only owner with a 403, and the revoke records it as failed', async () => {
    expect(owners()).toEqual(['access-review-bot']);
    const campaignId = 'c-last';
    await campaignRevoking(campaignId, ownerGrants(['access-review-bot']));
    const connector = await services.connectors.get('github');
    const grant = (await store.grants.get(
      campaignId,
      grantIdOf(orgMembershipKey('acme', 'access-review-bot', 'owner')),
    ))!;
    await expect(connector.revoke(grant)).rejects.toThrow(
      /failed with 403: You cannot remove the last owner of an organization\./,
    );
    const member = (await store.grants.get(
      campaignId,
      grantIdOf(orgMembershipKey('acme', 'access-review-bot', 'member')),
    ))!;
    await expect(connector.revoke(member)).rejects.toThrow(/403: You cannot remove the last owner/);
    expect(findMember(sandbox.state, 'access-review-bot')?.role).toBe('owner');
    expect(sandbox.violations).toEqual([]);
  });
});
