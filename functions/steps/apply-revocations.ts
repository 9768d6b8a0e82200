import type { Connector, PolicyChange } from '../connectors/connector';
import { downgradedGrantId } from '../core/downgrade';
import { ConnectorError } from '../core/errors';
import { briefNames } from '../core/grant-kinds';
import type { Services } from '../runtime/services';
import type { ApprovalRequest, StoredGuardItem } from '../store/approvals';
import type { StoredGrant } from '../store/grants';
import {
  type DowngradeFields,
  type Revocation,
  revocationEventData,
  revocationEventType,
} from '../store/outcomes';
import { GuardVerdictMissingError } from './request-revocation-approval';
import type { CampaignRef } from './snapshot';
import { mapConcurrently, timeIsShort } from './time-budget';

export interface ApplyRevocationsOutput extends CampaignRef {
  requested: number;
  removed: number;
  alreadyAbsent: number;
  failed: number;
  /** Revoke decisions no API can carry out: a person must (each recorded with what to do). */
  remediationRequired: number;
  /** Held by the revocation guard and not approved (rejected, or no answer in time). */
  rejected: number;
  /** The tool's own identity: never revoked, whatever was approved. */
  refusedProtected: number;
  /** Of `requested`, the downgrade decisions (lowered at the source instead of removed). */
  downgrades: number;
  /** True when the campaign was cancelled before revocations began: nothing was applied. */
  cancelled?: boolean;
  /**
   * False when the step stopped before its Lambda's time ran out, with revocations still to apply:
   * the workflow calls it again and it goes on after those already recorded. The counts are then
   * those recorded so far.
   */
  complete: boolean;
}

/** Grants read at once when loading the revocations still to apply. */
const READ_CONCURRENCY = 16;

/**
 * Org membership last: removing someone from the org also removes their teams, and the evidence
 * is clearer when each specific grant is removed at its own source first.
 */
function revocationOrder(grant: StoredGrant): number {
  return grant.resourceType === 'organization' && grant.entitlement === 'member' ? 1 : 0;
}

/**
 * Why the guard keeps a revocation from happening, or undefined when it may go ahead: forbidden
 * ones never happen; held ones only when the security team approved the batch.
 */
function notApplied(
  verdict: StoredGuardItem | undefined,
  approval: ApprovalRequest | undefined,
  verb: 'revoked' | 'downgraded',
): { status: 'rejected' | 'refused_protected'; action: string } | undefined {
  if (!verdict) {
    // A revoke (or downgrade) decision the guard never saw (it cannot happen after the reviews
    // closed): nobody checked it, so it is treated as held and not approved.
    return { status: 'rejected', action: `not ${verb}: the revocation guard did not check this decision` };
  }
  if (verdict.outcome === 'forbidden') {
    return {
      status: 'refused_protected',
      action: `not ${verb}: access-review's own identity is never revoked or downgraded, whatever is approved`,
    };
  }
  if (verdict.outcome === 'allowed' || approval?.status === 'approved') return undefined;
  const why =
    approval?.status === 'rejected'
      ? `rejected by ${approval.decidedBy?.login ?? 'the security team'} (Slack ${approval.decidedBy?.slackUserId ?? '?'}) at ${approval.decidedAt}`
      : approval?.status === 'expired'
        ? `not approved: ${approval.expiredReason ?? 'no answer within the approval window'}`
        : 'not approved by the security team';
  return { status: 'rejected', action: `not ${verb}: held by the revocation guard and ${why}` };
}

/**
 * Removes every grant a reviewer decided to revoke, at its source, as the revocation guard allows:
 * allowed ones, held ones only when the security team approved, never the tool's own identity.
 * Every revocation the guard keeps from happening is recorded too (rejected, refused_protected),
 * with its reasons, so no decision is silently dropped. Each attempt is recorded as
 * pending before the source is called, and its answer afterwards, so a retried step skips what is
 * done and says so when an attempt was cut short. A refusal by the source is recorded as failed
 * (and shows in the evidence); a transient fault is thrown so the workflow retries the step.
 */
export async function applyRevocations(
  input: CampaignRef,
  services: Services,
): Promise<ApplyRevocationsOutput> {
  const { campaignId } = input;
  const { store } = services;
  // First: one conditional write decides between this and a cancel. A cancelled campaign applies
  // nothing (the workflow goes on to Finalize, which records it as cancelled).
  const begun = await store.campaigns.beginRevoking(campaignId, services.now());
  if (!begun.begun) {
    services.progress(`Campaign ${campaignId} was cancelled before revocations began: nothing is revoked`);
    return {
      campaignId,
      cancelled: true,
      requested: 0,
      downgrades: 0,
      removed: 0,
      alreadyAbsent: 0,
      failed: 0,
      remediationRequired: 0,
      rejected: 0,
      refusedProtected: 0,
      complete: true,
    };
  }
  await store.campaigns.advance(campaignId, 'revoking');
  // The guard's verdict comes first: nothing is applied that CheckRevocations did not see.
  const summary = await store.approvals.getGuardSummary(campaignId);
  if (!summary) throw new GuardVerdictMissingError(`campaign ${campaignId} has no revocation guard verdict`);
  const verdicts = new Map(
    (await store.approvals.listGuardItems(campaignId)).map((item) => [item.grantId, item]),
  );
  const approval = await store.approvals.get(campaignId);
  // Downgrades are applied here too: the guard counted them like revocations.
  const decisions = (await store.decisions.list(campaignId)).filter(
    (d) => d.decision === 'revoke' || d.decision === 'downgrade',
  );
  const downgradeTo = new Map(
    decisions.filter((d) => d.decision === 'downgrade').map((d) => [d.grantId, d.downgradeTo ?? ''] as const),
  );
  // What a previous attempt or invocation of this step already did, read in one query: those
  // grants are not read again, only counted.
  const done = new Map((await store.outcomes.listRevocations(campaignId)).map((r) => [r.grantId, r]));
  const isFinished = (grantId: string) => {
    const status = done.get(grantId)?.status;
    return status !== undefined && status !== 'pending';
  };
  const finished = decisions.filter((d) => isFinished(d.grantId));
  const toDo = decisions.filter((d) => !isFinished(d.grantId));
  const grants = (
    await mapConcurrently(toDo, READ_CONCURRENCY, (decision) =>
      store.grants.get(campaignId, decision.grantId),
    )
  ).filter((grant): grant is StoredGrant => grant !== undefined);
  grants.sort((a, b) => revocationOrder(a) - revocationOrder(b));
  const totals = {
    requested: finished.length + grants.length,
    downgrades: downgradeTo.size,
    removed: 0,
    alreadyAbsent: 0,
    failed: 0,
    remediationRequired: 0,
    rejected: 0,
    refusedProtected: 0,
  };
  const count = (status: Revocation['status']) => {
    if (status === 'removed') totals.removed++;
    else if (status === 'already_absent') totals.alreadyAbsent++;
    else if (status === 'failed') totals.failed++;
    else if (status === 'remediation_required') totals.remediationRequired++;
    else if (status === 'rejected') totals.rejected++;
    else if (status === 'refused_protected') totals.refusedProtected++;
  };
  for (const decision of finished) count(done.get(decision.grantId)!.status);
  for (const grant of grants) {
    if (timeIsShort(services)) {
      services.progress(
        `Revocations: ${grants.length - grants.indexOf(grant)} still to apply; stopping before the Lambda's time runs out (the workflow resumes it)`,
      );
      return { campaignId, ...totals, complete: false };
    }
    const previous = done.get(grant.grantId);
    const verdict = verdicts.get(grant.grantId);
    const to = downgradeTo.get(grant.grantId);
    const downgrade: DowngradeFields | undefined =
      to === undefined ? undefined : { operation: 'downgrade', to, toGrantId: downgradedGrantId(grant, to) };
    const kept = notApplied(verdict, approval, downgrade ? 'downgraded' : 'revoked');
    if (kept) {
      const record: Revocation = {
        campaignId,
        grantId: grant.grantId,
        status: kept.status,
        at: services.now().toISOString(),
        action: kept.action,
        guardReasons: verdict?.reasons ?? [],
        interrupted: false,
        ...(downgrade ?? {}),
      };
      await store.outcomes.recordNotApplied(record, grant);
      await chainRevocation(services, record);
      count(record.status);
      const names = briefNames(grant);
      const not = downgrade ? 'Not downgraded' : 'Not revoked';
      services.progress(
        `${record.status === 'rejected' ? `${not} (held, not approved)` : `${not} (the tool's own identity)`}: ${names.principal} ${grant.entitlement} on ${names.resource}`,
      );
      continue;
    }
    const interrupted = previous !== undefined;
    if (!interrupted)
      await store.outcomes.beginRevocation(
        campaignId,
        grant.grantId,
        services.now().toISOString(),
        grant,
        downgrade,
      );
    let revocation: Revocation;
    try {
      const connector = await services.connectors.get(grant.connector);
      if (downgrade) {
        revocation = await applyDowngrade(connector, grant, downgrade, interrupted);
        await store.outcomes.finishRevocation(revocation);
        await chainRevocation(services, revocation);
        count(revocation.status);
        const names = briefNames(grant);
        services.progress(
          revocation.status === 'failed'
            ? `Could not downgrade ${names.principal} ${grant.entitlement} on ${names.resource} to ${downgrade.to}: ${revocation.error}`
            : `Downgraded ${names.principal} ${grant.entitlement} on ${names.resource} to ${downgrade.to} (${revocation.status})`,
        );
        continue;
      }
      // Planned once: a plan already stored describes the first attempt's writes. An attempt that
      // stopped before storing one wrote nothing (the plan comes first), so planning now is right.
      if (connector.plan && !previous?.plannedPolicyChanges) {
        await store.outcomes.recordPlan(campaignId, grant.grantId, await connector.plan(grant));
      }
      const result = await connector.revoke(grant);
      const changes = changesToRecord(result.policyChanges, interrupted ? previous : undefined);
      revocation = {
        campaignId,
        grantId: grant.grantId,
        status: result.outcome,
        at: result.appliedAt,
        action: interrupted
          ? `${result.action} (retried after an interrupted attempt${
              changes.fromPlan
                ? '; policy documents it no longer found to change are those the first attempt planned to write'
                : ''
            })`
          : result.action,
        ...(result.remediation ? { remediation: result.remediation } : {}),
        ...(changes.recorded.length > 0 ? { policyChanges: changes.recorded } : {}),
        interrupted,
      };
    } catch (error) {
      if (!(error instanceof ConnectorError)) throw error;
      revocation = {
        campaignId,
        grantId: grant.grantId,
        status: 'failed',
        at: services.now().toISOString(),
        error: error.message,
        interrupted,
      };
      services.log.error('revocation failed', { campaignId, grantId: grant.grantId, error: error.message });
    }
    await store.outcomes.finishRevocation(revocation);
    await chainRevocation(services, revocation);
    count(revocation.status);
    const names = briefNames(grant);
    services.progress(
      revocation.status === 'failed'
        ? `Could not revoke ${names.principal} ${grant.entitlement} on ${names.resource}: ${revocation.error}`
        : revocation.status === 'remediation_required'
          ? `Remediation needed for ${names.principal} ${grant.entitlement} on ${names.resource}: ${clipped(revocation.remediation ?? '')}`
          : `Revoked ${names.principal} ${grant.entitlement} on ${names.resource} (${revocation.status})${
              revocation.policyChanges
                ? `, ${revocation.policyChanges.length} policy document(s) changed`
                : ''
            }`,
    );
  }
  return { campaignId, ...totals, complete: true };
}

/**
 * Lowers one grant through its connector. A connector with no downgrade, a decision without a
 * target, or a refusal by the source is recorded as failed (and shows in the evidence); a
 * transient fault is thrown so the workflow retries the step.
 */
async function applyDowngrade(
  connector: Connector,
  grant: StoredGrant,
  downgrade: DowngradeFields,
  interrupted: boolean,
): Promise<Revocation> {
  const base = { campaignId: grant.campaignId, grantId: grant.grantId, interrupted, ...downgrade };
  const failed = (error: string): Revocation => ({
    ...base,
    status: 'failed',
    at: new Date().toISOString(),
    error,
  });
  if (!downgrade.to) return failed('the downgrade decision names no entitlement to lower the grant to');
  if (!connector.downgrade) return failed(`connector ${connector.name} cannot downgrade a grant`);
  try {
    const result = await connector.downgrade(grant, downgrade.to);
    return {
      ...base,
      status: result.outcome,
      at: result.appliedAt,
      action: interrupted ? `${result.action} (retried after an interrupted attempt)` : result.action,
    };
  } catch (error) {
    if (!(error instanceof ConnectorError)) throw error;
    return failed(error.message);
  }
}

/** Appends the outcome's event to the chain and links it from the stored outcome, once. */
async function chainRevocation(services: Services, revocation: Revocation): Promise<void> {
  const event = await services.store.events.append(
    revocation.campaignId,
    revocationEventType(revocation.status),
    revocationEventData(revocation),
    services.now(),
  );
  await services.store.outcomes.linkEvent('revocation', revocation.campaignId, revocation.grantId, event.seq);
}

/** A remediation can carry a whole policy document; progress shows its start, the evidence all of it. */
function clipped(text: string, length = 280): string {
  return text.length <= length ? text : `${text.slice(0, length)}…`;
}

/**
 * What a revocation's record says it changed. Normally what the connector reports. After an
 * interrupted attempt, the first attempt may have written some or all of its plan before it
 * stopped (a policy version deleted, then the new version not yet created): the retry reports only
 * what was still left to write, so every planned document it does not report again is kept too,
 * in the plan's order.
 */
function changesToRecord(
  reported: PolicyChange[] | undefined,
  interruptedAttempt: Revocation | undefined,
): { recorded: PolicyChange[]; fromPlan: boolean } {
  const now = reported ?? [];
  const planned = interruptedAttempt?.plannedPolicyChanges ?? [];
  const reportedPolicies = new Set(now.map((change) => change.policy));
  const earlier = planned.filter((change) => !reportedPolicies.has(change.policy));
  if (earlier.length === 0) return { recorded: now, fromPlan: false };
  const order = new Map(planned.map((change, index) => [change.policy, index]));
  const recorded = [...earlier, ...now].sort(
    (a, b) => (order.get(a.policy) ?? planned.length) - (order.get(b.policy) ?? planned.length),
  );
  return { recorded, fromPlan: true };
}
