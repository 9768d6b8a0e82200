import type { Connector } from '../connectors/connector';
import { downgradedGrantId, downgradedKey } from '../core/downgrade';
import { briefNames } from '../core/grant-kinds';
import type { Services } from '../runtime/services';
import type { StoredGrant } from '../store/grants';
import { NOT_APPLIED_STATUSES, type Verification, verificationEventData } from '../store/outcomes';
import type { CampaignRef } from './snapshot';
import { timeIsShort } from './time-budget';

export interface VerifyRevocationsOutput extends CampaignRef {
  checked: number;
  confirmedAbsent: number;
  stillPresent: number;
  /** Downgrades whose grant does not hold the lower entitlement directly (gone altogether, or never lowered). */
  downgradeTargetMissing?: number;
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
  let downgrades = 0;
  let downgradeTargetMissing = 0;
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
        ...(revocation.operation === 'downgrade' && revocation.to
          ? await checkTarget(connector, grant, revocation.to)
          : {}),
      };
      if (await store.outcomes.recordVerification(verification, grant)) {
        const event = await store.events.append(
          campaignId,
          'revocation_verified',
          verificationEventData(verification),
          services.now(),
        );
        await store.outcomes.linkEvent('verification', campaignId, grant.grantId, event.seq);
      }
      services.progress(describe(grant, verification));
    }
    totals.checked++;
    if (verification.status === 'absent') totals.confirmedAbsent++;
    else totals.stillPresent++;
    if (verification.operation === 'downgrade') {
      downgrades++;
      if (!verification.toHeld) downgradeTargetMissing++;
    }
  }
  // Only with downgrades, so a campaign of revocations reports what it always did.
  return { campaignId, ...totals, ...(downgrades > 0 ? { downgradeTargetMissing } : {}), complete: true };
}

/**
 * A downgrade is verified twice over: the old entitlement must be gone by every path (the usual
 * check of the grant), and the grant must now hold the lower one directly (a check of the same
 * key with entitlement `to`: the grant the downgrade leaves).
 */
async function checkTarget(
  connector: Connector,
  grant: StoredGrant,
  to: string,
): Promise<Pick<Verification, 'operation' | 'to' | 'toGrantId' | 'toHeld' | 'toPaths'>> {
  const lowered = { ...grant, ...downgradedKey(grant, to), grantId: downgradedGrantId(grant, to) };
  const result = await connector.check(lowered);
  const toPaths = result.status === 'present' ? result.paths : [];
  return {
    operation: 'downgrade',
    to,
    toGrantId: lowered.grantId,
    toHeld: toPaths.some((path) => path.via === 'direct'),
    toPaths,
  };
}

function describe(grant: StoredGrant, verification: Verification): string {
  const { principal, resource } = briefNames(grant);
  const via = verification.paths.map((p) => p.via).join(', ');
  if (verification.operation === 'downgrade') {
    const target = verification.toHeld
      ? `holds ${verification.to} directly`
      : `does NOT hold ${verification.to} directly`;
    return verification.status === 'absent'
      ? `Verified downgrade: ${principal} no longer has ${grant.entitlement} on ${resource} and ${target}`
      : `STILL PRESENT after downgrade: ${principal} has ${grant.entitlement} on ${resource} via ${via} (${target})`;
  }
  return verification.status === 'absent'
    ? `Verified: ${principal} no longer has ${grant.entitlement} on ${resource}`
    : `STILL PRESENT: ${principal} has ${grant.entitlement} on ${resource} via ${via}`;
}
