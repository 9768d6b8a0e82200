import { ConnectorError } from '../core/errors';
import type { Services } from '../runtime/services';
import type { StoredGrant } from '../store/grants';
import type { CampaignRef } from './snapshot';

export interface ApplyRevocationsOutput extends CampaignRef {
  requested: number;
  removed: number;
  alreadyAbsent: number;
  failed: number;
}

/** Org membership last: removing someone from the org also removes their teams, and the evidence
 * is clearer when each specific grant is removed at its own source first. */
function revocationOrder(grant: StoredGrant): number {
  return grant.resourceType === 'organization' ? 1 : 0;
}

/**
 * Removes every grant a reviewer decided to revoke, at its source. Each revocation is recorded
 * once, so a retried step skips what is done. A refusal by the source is recorded as failed (and
 * shows in the evidence); a transient fault is thrown so the workflow retries the step.
 */
export async function applyRevocations(
  input: CampaignRef,
  services: Services,
): Promise<ApplyRevocationsOutput> {
  const { campaignId } = input;
  const { store } = services;
  await store.campaigns.advance(campaignId, 'revoking');
  const decisions = (await store.decisions.list(campaignId)).filter((d) => d.decision === 'revoke');
  const grants: StoredGrant[] = [];
  for (const decision of decisions) {
    const grant = await store.grants.get(campaignId, decision.grantId);
    if (grant) grants.push(grant);
  }
  grants.sort((a, b) => revocationOrder(a) - revocationOrder(b));
  const totals = { requested: grants.length, removed: 0, alreadyAbsent: 0, failed: 0 };
  const connector = grants.length > 0 ? await services.github() : undefined;
  for (const grant of grants) {
    const done = await store.outcomes.getRevocation(campaignId, grant.grantId);
    if (done) {
      if (done.status === 'removed') totals.removed++;
      else if (done.status === 'already_absent') totals.alreadyAbsent++;
      else totals.failed++;
      continue;
    }
    try {
      const result = await connector!.revoke(grant);
      const status = result.outcome;
      if (
        await store.outcomes.recordRevocation({
          campaignId,
          grantId: grant.grantId,
          status,
          at: result.appliedAt,
          action: result.action,
        })
      ) {
        await store.events.append(
          campaignId,
          'revocation_applied',
          { grantId: grant.grantId, status, action: result.action, appliedAt: result.appliedAt },
          services.now(),
        );
      }
      if (status === 'removed') totals.removed++;
      else totals.alreadyAbsent++;
      services.progress(`Revoked ${grant.principal} ${grant.entitlement} on ${grant.resource} (${status})`);
    } catch (error) {
      if (!(error instanceof ConnectorError)) throw error;
      const at = services.now().toISOString();
      if (
        await store.outcomes.recordRevocation({
          campaignId,
          grantId: grant.grantId,
          status: 'failed',
          at,
          error: error.message,
        })
      ) {
        await store.events.append(
          campaignId,
          'revocation_failed',
          { grantId: grant.grantId, error: error.message },
          services.now(),
        );
      }
      totals.failed++;
      services.log.error('revocation failed', { campaignId, grantId: grant.grantId, error: error.message });
      services.progress(
        `Could not revoke ${grant.principal} ${grant.entitlement} on ${grant.resource}: ${error.message}`,
      );
    }
  }
  await store.campaigns.advance(campaignId, 'revoking', {
    counts: {
      revokeRequested: totals.requested,
      removed: totals.removed,
      alreadyAbsent: totals.alreadyAbsent,
      revokeFailed: totals.failed,
    },
  });
  return { campaignId, ...totals };
}
