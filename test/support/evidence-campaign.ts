import { type CheckResult, type Connector, connectorRegistry } from '../../functions/connectors/connector';
import { teamMembershipKey } from '../../functions/connectors/github/keys';
import { type Grant, makeGrant } from '../../functions/core/grant';
import type { Services } from '../../functions/runtime/services';
import { applyRevocations } from '../../functions/steps/apply-revocations';
import { takeSnapshot } from '../../functions/steps/snapshot';
import { verifyRevocations } from '../../functions/steps/verify-revocations';
import type { Store } from '../../functions/store/index';
import { passGuard } from './guard';
import { createTestCampaign, testServices } from './local-store';

/*
 * A reviewed campaign for the evidence tests, built through the steps and the store API: `size`
 * team memberships, routed to three reviewers (every seventh to nobody), about half decided, with
 * justifications that need CSV quoting; a few decided revoke, revoked and verified (one still
 * present). It stops before Finalize, so a test can complete it or fail it.
 */
export const REVIEWERS = ['alice', 'bob', 'carol'] as const;

export function evidenceGrants(size: number): Grant[] {
  return Array.from({ length: size }, (_, index) =>
    makeGrant(
      teamMembershipKey('acme', `team-${index % 5}`, `user${String(index).padStart(4, '0')}`, 'member'),
      {
        flags: index % 11 === 0 ? ['two_factor_disabled'] : [],
        reviewable: index % 13 !== 0,
      },
    ),
  ).sort((a, b) => a.grantId.localeCompare(b.grantId));
}

function membershipConnector(grants: Grant[], present: Set<string>): Connector {
  return {
    name: 'github',
    async *snapshot() {
      yield* grants;
    },
    async revoke(grant) {
      if (grant.principal.endsWith('5')) {
        return {
          outcome: 'remediation_required',
          appliedAt: new Date().toISOString(),
          action: 'none: membership comes from the IdP, "sync" group',
          remediation: `remove ${grant.principal} from the IdP group, then wait for the sync`,
        };
      }
      present.delete(grant.grantId);
      return {
        outcome: 'removed',
        appliedAt: new Date().toISOString(),
        action: `DELETE /orgs/acme/teams/${grant.resource}/memberships/${grant.principal}: removed`,
      };
    },
    async check(grant): Promise<CheckResult> {
      const checkedAt = new Date().toISOString();
      return present.has(grant.grantId)
        ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission: 'member' }] }
        : { status: 'absent', checkedAt };
    },
    usage: () => ({ requests: { core: 3 }, points: {} }),
  };
}

export interface EvidenceCampaign {
  services: Services;
  grants: Grant[];
  revoked: string[];
}

/** Up to the decisions and the revocation guard: `revoke` false leaves ApplyRevocations undone. */
export async function reviewedCampaign(
  store: Store,
  campaignId: string,
  size: number,
  options: { revoke?: boolean } = {},
): Promise<EvidenceCampaign> {
  const grants = evidenceGrants(size);
  const present = new Set(grants.map((grant) => grant.grantId));
  const services = testServices(store, {
    connectors: connectorRegistry({ github: async () => membershipConnector(grants, present) }),
  });
  await createTestCampaign(store, campaignId, 'snapshotting');
  await takeSnapshot({ campaignId }, services);
  await store.campaigns.advance(campaignId, 'assigning');
  const due = new Date(Date.now() + 86_400_000).toISOString();
  for (const [index, reviewer] of REVIEWERS.entries()) {
    await store.tasks.create({
      campaignId,
      reviewer,
      slackUserId: `U0${reviewer.toUpperCase()}`,
      grantCount: 0,
      status: index === 2 ? 'unresponsive' : 'awaiting',
      dueAt: due,
    });
  }
  const revoked: string[] = [];
  for (const [index, grant] of grants.entries()) {
    if (!grant.reviewable) continue;
    if (index % 7 === 3) {
      await store.grants.assign(
        campaignId,
        grant.grantId,
        undefined,
        'nobody eligible: "holder" is the only owner',
      );
      continue;
    }
    const reviewer = REVIEWERS[index % 3] as string;
    await store.grants.assign(campaignId, grant.grantId, reviewer, `owner of acme/${grant.resource}, config`);
    if (index % 2 === 1 || reviewer === 'carol') continue;
    const decision = index % 5 === 0 ? 'revoke' : 'keep';
    if (decision === 'revoke') revoked.push(grant.grantId);
    const justification = index % 4 === 0 ? 'left the team, "moved" to sales;\nsee HR-12, HR-13' : undefined;
    const recorded = {
      campaignId,
      grantId: grant.grantId,
      decision,
      reviewer,
      decidedBySlackUserId: `U0${reviewer.toUpperCase()}`,
      decidedAt: new Date().toISOString(),
      justification,
      channel: 'slack',
    } as const;
    await store.decisions.record(recorded);
    const event = await store.events.append(
      campaignId,
      'decision_recorded',
      {
        grantId: grant.grantId,
        decision,
        reviewer,
        decidedBySlackUserId: recorded.decidedBySlackUserId,
        justification: justification ?? null,
      },
      new Date(),
    );
    await store.decisions.linkEvent(campaignId, grant.grantId, event.seq);
  }
  await store.campaigns.advance(campaignId, 'in_review');
  await store.campaigns.advance(campaignId, 'revoking');
  await passGuard(store, services, campaignId);
  if (options.revoke !== false) {
    await applyRevocations({ campaignId }, services);
    // One removal the source still shows: verification finds it present.
    const stillThere = revoked.find((grantId) => !present.has(grantId));
    if (stillThere) present.add(stillThere);
    await store.campaigns.advance(campaignId, 'verifying');
    await verifyRevocations({ campaignId }, services);
  }
  return { services, grants, revoked };
}
