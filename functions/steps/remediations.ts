import type { AccessPath } from '../connectors/connector';
import { ConnectorError } from '../core/errors';
import { briefNames } from '../core/grant-kinds';
import type { Services } from '../runtime/services';

/** One remediation item as the `remediations_rechecked` event records it. */
interface RecheckedItem {
  grantId: string;
  /** The campaign whose revoke decision asked for the remediation. */
  fromCampaign: string;
  principal: string;
  resource: string;
  entitlement: string;
  remediation: string | null;
  /**
   * present / absent: what reading the source said. error: the check failed (the message is in
   * `error`); unverifiable: the grant or its connector is no longer there to check with. Anything
   * but absent stays open and is carried to the next campaign.
   */
  status: 'present' | 'absent' | 'error' | 'unverifiable';
  paths: AccessPath[];
  checkedAt: string;
  error?: string;
}

/**
 * Remediation items an earlier campaign left open (no API could remove the access, and its last
 * check still found it) are checked again at the start of the next campaign's snapshot, and the
 * answer goes into this campaign's chain: a remediation is followed until it is done, never
 * forgotten. Returns the grant ids still open, so the new snapshot can flag them.
 */
export async function recheckOpenRemediations(campaignId: string, services: Services): Promise<Set<string>> {
  const { store } = services;
  const open = new Set<string>();
  const previous = (await store.campaigns.list()).find(
    (campaign) => campaign.campaignId !== campaignId && campaign.status === 'completed',
  );
  if (!previous) return open;
  const recorded = await store.events.findFirst(campaignId, 'remediations_rechecked');
  if (recorded) {
    // A retried snapshot: the recheck is recorded already; take its answer.
    for (const item of (recorded.data.items as RecheckedItem[]) ?? []) {
      if (item.status !== 'absent') open.add(item.grantId);
    }
    return open;
  }
  const verifications = new Map(
    (await store.outcomes.listVerifications(previous.campaignId)).map((v) => [v.grantId, v]),
  );
  // Open items: the previous campaign's own remediations its verify step still found, and those
  // it carried forward from earlier campaigns without anyone deciding on the grant again.
  const pending = new Map<string, { fromCampaign: string; remediation: string | null }>();
  for (const revocation of await store.outcomes.listRevocations(previous.campaignId)) {
    if (revocation.status !== 'remediation_required') continue;
    if (verifications.get(revocation.grantId)?.status === 'absent') continue;
    pending.set(revocation.grantId, {
      fromCampaign: previous.campaignId,
      remediation: revocation.remediation ?? null,
    });
  }
  const carried = await store.events.findFirst(previous.campaignId, 'remediations_rechecked');
  if (carried) {
    const decided = new Set((await store.decisions.list(previous.campaignId)).map((d) => d.grantId));
    for (const item of (carried.data.items as RecheckedItem[]) ?? []) {
      if (item.status === 'absent' || decided.has(item.grantId) || pending.has(item.grantId)) continue;
      pending.set(item.grantId, { fromCampaign: item.fromCampaign, remediation: item.remediation });
    }
  }
  if (pending.size === 0) return open;
  const items: RecheckedItem[] = [];
  for (const [grantId, origin] of pending) {
    const grant =
      (await store.grants.get(previous.campaignId, grantId)) ??
      (await store.grants.get(origin.fromCampaign, grantId));
    const base = {
      grantId,
      fromCampaign: origin.fromCampaign,
      principal: grant?.principal ?? '',
      resource: grant?.resource ?? '',
      entitlement: grant?.entitlement ?? '',
      remediation: origin.remediation,
      paths: [],
    };
    open.add(grantId);
    if (!grant || !services.connectors.names.includes(grant.connector)) {
      // Never dropped: recorded as open, and carried forward until someone can check it.
      items.push({
        ...base,
        status: 'unverifiable',
        checkedAt: services.now().toISOString(),
        error: grant ? `connector ${grant.connector} is not configured` : 'the grant is not in the table',
      });
      continue;
    }
    try {
      const connector = await services.connectors.get(grant.connector);
      const result = await connector.check(grant);
      if (result.status === 'absent') open.delete(grantId);
      items.push({
        ...base,
        status: result.status,
        paths: result.status === 'present' ? result.paths : [],
        checkedAt: result.checkedAt,
      });
      services.progress(
        result.status === 'absent'
          ? `Remediation from ${origin.fromCampaign} done: ${briefNames(grant).principal} no longer has ${grant.entitlement} on ${briefNames(grant).resource}`
          : `Remediation from ${origin.fromCampaign} still open: ${briefNames(grant).principal} ${grant.entitlement} on ${briefNames(grant).resource}`,
      );
    } catch (error) {
      // A transient fault is the workflow's to retry; a refusal must not block every later campaign.
      if (!(error instanceof ConnectorError)) throw error;
      items.push({ ...base, status: 'error', checkedAt: services.now().toISOString(), error: error.message });
      services.log.warn('remediation recheck failed', { campaignId, grantId, error: error.message });
    }
  }
  if (items.length > 0) {
    await store.events.appendOnce(
      campaignId,
      'remediations_rechecked',
      { items: items as unknown as Array<Record<string, unknown>> },
      services.now(),
    );
  }
  return open;
}
