import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../../functions/connectors/connector';
import { orgMembershipKey, teamMembershipKey } from '../../../functions/connectors/github/keys';
import { grantIdOf } from '../../../functions/core/grant';
import type { Services } from '../../../functions/runtime/services';
import { applyRevocations } from '../../../functions/steps/apply-revocations';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import { passGuard } from '../../support/guard';
import { campaignDecidedToRevoke, startTestStore, testServices } from '../../support/local-store';
import { acmeOrganization, connectorFor, startSandbox, writeRequests } from '../github/helpers';

/*
 * ApplyRevocations against the GitHub sandbox. Removing someone from the organisation takes their
 * owner role and team memberships with it, so those are revoked first: each shows in the evidence
 * as removed at its own source, not as "already absent" after the fact. And a revocation an earlier
 * attempt left pending (cut off between calling GitHub and recording the answer) is tried again,
 * while one that finished is not.
 *
 * dave is made an owner here: his member grant's id sorts before his owner grant's id, so the order
 * cannot come out right by the decisions' order alone (frank's sorts the other way).
 */
let dynamo: LocalDynamo;
let store: Store;
let sandbox: GitHubSandbox;
let services: Services;

const id = {
  frankOwner: grantIdOf(orgMembershipKey('acme', 'frank', 'owner')),
  frankMember: grantIdOf(orgMembershipKey('acme', 'frank', 'member')),
  daveOwner: grantIdOf(orgMembershipKey('acme', 'dave', 'owner')),
  daveMember: grantIdOf(orgMembershipKey('acme', 'dave', 'member')),
  daveWeb: grantIdOf(teamMembershipKey('acme', 'web', 'dave', 'member')),
  carolPlatform: grantIdOf(teamMembershipKey('acme', 'platform', 'carol', 'member')),
  bobPlatform: grantIdOf(teamMembershipKey('acme', 'platform', 'bob', 'member')),
};

/** alice, the reviewer, also decided to revoke `grantId`. */
async function alsoRevoke(campaignId: string, grantId: string) {
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
}

const writes = () => writeRequests(sandbox).map((request) => `${request.method} ${request.path}`);

beforeAll(async () => {
  const organization = await acmeOrganization();
  organization.members = organization.members.map((member) =>
    member.login === 'dave' ? { ...member, role: 'owner' } : member,
  );
  sandbox = await startSandbox(organization);
  ({ dynamo, store } = await startTestStore('apply-revocations-order'));
  services = testServices(store, {
    connectors: connectorRegistry({ github: async () => connectorFor(sandbox) }),
  });
});

afterAll(async () => {
  await dynamo?.close();
  await sandbox?.close();
});

describe('ApplyRevocations order', () => {
  it('demotes an owner and removes their team memberships before removing them from the organisation', async () => {
    const campaignId = 'c-order';
    expect(id.daveMember < id.daveOwner).toBe(true);
    expect(id.frankMember > id.frankOwner).toBe(true);
    await campaignDecidedToRevoke(store, services, campaignId, id.daveMember);
    for (const grantId of [id.daveOwner, id.daveWeb, id.frankMember, id.frankOwner]) {
      await alsoRevoke(campaignId, grantId);
    }
    sandbox.requests.length = 0;

    await passGuard(store, services, campaignId);
    const output = await applyRevocations({ campaignId }, services);

    expect(output).toMatchObject({ requested: 5, removed: 5, alreadyAbsent: 0, failed: 0 });
    const sent = writes();
    for (const login of ['dave', 'frank']) {
      const demoted = sent.indexOf(`PUT /orgs/acme/memberships/${login}`);
      const removed = sent.indexOf(`DELETE /orgs/acme/memberships/${login}`);
      expect(demoted, `${login} demoted`).toBeGreaterThanOrEqual(0);
      expect(removed, `${login} removed`).toBeGreaterThan(demoted);
    }
    expect(sent.indexOf('DELETE /orgs/acme/teams/web/memberships/dave')).toBeGreaterThanOrEqual(0);
    expect(sent.indexOf('DELETE /orgs/acme/teams/web/memberships/dave')).toBeLessThan(
      sent.indexOf('DELETE /orgs/acme/memberships/dave'),
    );

    // The chain records each grant removed at its own source, org memberships last.
    const applied = (await store.events.list(campaignId)).filter((e) => e.type === 'revocation_applied');
    expect(applied.map((e) => e.data.status)).toEqual([
      'removed',
      'removed',
      'removed',
      'removed',
      'removed',
    ]);
    const order = applied.map((e) => e.data.grantId);
    expect(order.slice(3).sort()).toEqual([id.daveMember, id.frankMember].sort());
    expect(order.indexOf(id.daveOwner)).toBeLessThan(order.indexOf(id.daveMember));
    expect(order.indexOf(id.frankOwner)).toBeLessThan(order.indexOf(id.frankMember));
    for (const grantId of [id.daveOwner, id.frankOwner]) {
      expect((await store.outcomes.getRevocation(campaignId, grantId))?.action).toMatch(
        /^PUT \/orgs\/acme\/memberships\/(dave|frank) \{"role":"member"\}/,
      );
    }
  });
});

describe('ApplyRevocations after an interrupted attempt', () => {
  it('retries a revocation left pending and skips one that finished', async () => {
    const campaignId = 'c-retry';
    await campaignDecidedToRevoke(store, services, campaignId, id.carolPlatform);
    await alsoRevoke(campaignId, id.bobPlatform);
    const startedAt = new Date(Date.now() - 60_000).toISOString();
    // The first attempt: carol's was cut off after it was marked pending; bob's finished (and its
    // event was written) before the step was interrupted.
    await store.outcomes.beginRevocation(campaignId, id.carolPlatform, startedAt);
    await store.outcomes.beginRevocation(campaignId, id.bobPlatform, startedAt);
    await store.outcomes.finishRevocation({
      campaignId,
      grantId: id.bobPlatform,
      status: 'removed',
      at: startedAt,
      action: 'DELETE /orgs/acme/teams/platform/memberships/bob: removed',
      interrupted: false,
    });
    sandbox.requests.length = 0;

    await passGuard(store, services, campaignId);
    const output = await applyRevocations({ campaignId }, services);

    expect(output).toMatchObject({ requested: 2, removed: 2, alreadyAbsent: 0, failed: 0 });
    // Only carol's was sent again: bob's is done and still in the team as far as this test knows.
    expect(writes()).toEqual(['DELETE /orgs/acme/teams/platform/memberships/carol']);
    const carol = await store.outcomes.getRevocation(campaignId, id.carolPlatform);
    expect(carol).toMatchObject({ status: 'removed', interrupted: true });
    expect(carol?.action).toMatch(/\(retried after an interrupted attempt\)$/);
    const applied = (await store.events.list(campaignId)).filter((e) => e.type === 'revocation_applied');
    expect(applied.map((e) => [e.data.grantId, e.data.status, e.data.interrupted])).toEqual([
      [id.carolPlatform, 'removed', true],
    ]);
    expect(carol?.eventSeq).toBe(applied[0]?.seq);

    // Run again: nothing is pending any more, so nothing is sent.
    sandbox.requests.length = 0;
    expect(await applyRevocations({ campaignId }, services)).toMatchObject({ requested: 2, removed: 2 });
    expect(writes()).toEqual([]);
  });
});
