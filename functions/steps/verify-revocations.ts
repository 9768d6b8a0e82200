import { briefNames } from '../core/grant-kinds';
import type { Services } from '../runtime/services';
import { NOT_APPLIED_STATUSES } from '../store/outcomes';
import type { CampaignRef } from './snapshot';
import { timeIsShort } from './time-budget';

export interface VerifyRevocationsOutput extends CampaignRef {
  checked: number;
  confirmedAbsent: number;
  stillPresent: number;
  /**
   * False when the step stopped before its Lambda's time ran out, with revocations still to check:
   * the workflow calls it again and it goes on after the verifications already recorded.
   */
  complete: boolean;
}

/**
 * Reads the source again for every revoke decision and records what it shows: confirmed absent,
 * or still present and by which paths (a team can still give what a removed direct grant gave).
 */
export async function verifyRevocations(
  input: CampaignRef,
  services: Services,
): Promise<VerifyRevocationsOutput> {
  const { campaignId } = input;
  const { store } = services;
  await store.campaigns.advance(campaignId, 'verifying');
  const revocations = await store.outcomes.listRevocations(campaignId);
  const totals = { checked: 0, confirmedAbsent: 0, stillPresent: 0 };
  const done = new Map((await store.outcomes.listVerifications(campaignId)).map((v) => [v.grantId, v]));
  for (const revocation of revocations) {
    // A revocation the guard kept from happening removed nothing: there is nothing to verify.
    if (NOT_APPLIED_STATUSES.has(revocation.status)) continue;
    let verification = done.get(revocation.grantId);
    if (!verification) {
      if (timeIsShort(services)) {
        services.progress(
          "Verification: stopping before the Lambda's time runs out; the workflow resumes it after the last one recorded",
        );
        return { campaignId, ...totals, complete: false };
      }
      const grant = await store.grants.get(campaignId, revocation.grantId);
      if (!grant) continue;
      const connector = await services.connectors.get(grant.connector);
      const result = await connector.check(grant);
      verification = {
        campaignId,
        grantId: grant.grantId,
        status: result.status,
        checkedAt: result.checkedAt,
        paths: result.status === 'present' ? result.paths : [],
      };
      if (await store.outcomes.recordVerification(verification, grant)) {
        const event = await store.events.append(
          campaignId,
          'revocation_verified',
          {
            grantId: grant.grantId,
            status: verification.status,
            paths: verification.paths,
            checkedAt: verification.checkedAt,
          },
          services.now(),
        );
        await store.outcomes.linkEvent('verification', campaignId, grant.grantId, event.seq);
      }
      services.progress(
        verification.status === 'absent'
          ? `Verified: ${briefNames(grant).principal} no longer has ${grant.entitlement} on ${briefNames(grant).resource}`
          : `STILL PRESENT: ${briefNames(grant).principal} has ${grant.entitlement} on ${briefNames(grant).resource} via ${verification.paths.map((p) => p.via).join(', ')}`,
      );
    }
    totals.checked++;
    if (verification.status === 'absent') totals.confirmedAbsent++;
    else totals.stillPresent++;
  }
  return { campaignId, ...totals, complete: true };
}
