import type { Services } from '../runtime/services';

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
    for (const item of (recorded.data.items as Array<{ grantId: string; status: string }>) ?? []) {
      if (item.status === 'present') open.add(item.grantId);
    }
    return open;
  }
  const revocations = (await store.outcomes.listRevocations(previous.campaignId)).filter(
    (revocation) => revocation.status === 'remediation_required',
  );
  if (revocations.length === 0) return open;
  const verifications = new Map(
    (await store.outcomes.listVerifications(previous.campaignId)).map((v) => [v.grantId, v]),
  );
  const items: Array<Record<string, unknown>> = [];
  for (const revocation of revocations) {
    if (verifications.get(revocation.grantId)?.status === 'absent') continue;
    const grant = await store.grants.get(previous.campaignId, revocation.grantId);
    if (!grant) continue;
    if (!services.connectors.names.includes(grant.connector)) continue;
    const connector = await services.connectors.get(grant.connector);
    const result = await connector.check(grant);
    if (result.status === 'present') open.add(grant.grantId);
    items.push({
      grantId: grant.grantId,
      fromCampaign: previous.campaignId,
      principal: grant.principal,
      resource: grant.resource,
      entitlement: grant.entitlement,
      remediation: revocation.remediation ?? null,
      status: result.status,
      paths: result.status === 'present' ? result.paths : [],
      checkedAt: result.checkedAt,
    });
    services.progress(
      result.status === 'absent'
        ? `Remediation from ${previous.campaignId} done: ${grant.principal} no longer has ${grant.entitlement} on ${grant.resource}`
        : `Remediation from ${previous.campaignId} still open: ${grant.principal} ${grant.entitlement} on ${grant.resource}`,
    );
  }
  if (items.length > 0) {
    await store.events.appendOnce(campaignId, 'remediations_rechecked', { items }, services.now());
  }
  return open;
}
