import Table from 'cli-table3';
import { viaLabel } from '../../functions/core/grant';
import { briefNames } from '../../functions/core/grant-kinds';
import type { CampaignSummary } from '../../functions/evidence/summary';
import type { Store } from '../../functions/store/index';

/** The end-of-run table a person reads in the terminal, plus what still needs attention. */
export async function renderSummary(store: Store, summary: CampaignSummary): Promise<string> {
  const revocations = await store.outcomes.listRevocations(summary.campaignId);
  const policyDocuments = revocations.reduce((total, r) => total + (r.policyChanges?.length ?? 0), 0);
  const table = new Table({ head: ['Campaign', summary.campaignId], style: { head: [], border: [] } });
  table.push(
    ['Organization', summary.organization],
    [
      'Grants found',
      `${summary.grants} (${summary.reviewable} reviewed, ${summary.derived} follow from those)`,
    ],
    [
      'Reviewers asked',
      `${summary.reviewersAsked} (${summary.reviewersCompleted} completed, ${summary.reviewersUnresponsive} unresponsive)`,
    ],
    ['Kept', String(summary.kept)],
    ['Revoked', String(summary.revoked)],
    ['Undecided', String(summary.undecided + summary.unroutable)],
    [
      'Revocations applied',
      `${summary.revocationsApplied}${summary.revocationsFailed ? ` (${summary.revocationsFailed} failed)` : ''}`,
    ],
    [
      'Remediations (a person must act)',
      `${summary.remediationsRequired} (${summary.remediationsOpen} still open)`,
    ],
    ...guardRows(summary),
    ['Revocations verified', `${summary.verifiedAbsent} confirmed absent`],
    ...(policyDocuments > 0
      ? [['Policy documents changed', `${policyDocuments} (before and after in policy-changes.jsonl)`]]
      : []),
    ['Still present', String(summary.stillPresent)],
    ...Object.entries(summary.sourceUsage ?? {}).map(([name, used]) => [
      `${name} cost`,
      `${sum(used.requests)} requests, ${sum(used.points)} rate-limit points`,
    ]),
    [
      'Event chain',
      summary.chainIntact ? `${summary.events} events, head ${summary.chainHead?.slice(0, 16)}…` : 'BROKEN',
    ],
  );
  const attention: string[] = [];
  const remediations = new Map(
    revocations.filter((r) => r.status === 'remediation_required').map((r) => [r.grantId, r]),
  );
  // Remediations earlier campaigns left open, as this campaign's snapshot found them.
  const rechecked = await store.events.findFirst(summary.campaignId, 'remediations_rechecked');
  for (const item of (rechecked?.data.items as Array<Record<string, unknown>> | undefined) ?? []) {
    if (item.status === 'absent') continue;
    const what = `${String(item.principal)} ${String(item.entitlement)} on ${String(item.resource)}`;
    const state =
      item.status === 'present'
        ? 'still open'
        : `could not be checked (${String(item.status)}: ${String(item.error ?? '')})`;
    attention.push(
      `REMEDIATION from ${String(item.fromCampaign)} ${state}: ${what}: ${clip(String(item.remediation ?? ''))}`,
    );
  }
  for (const revocation of remediations.values()) {
    const grant = await store.grants.get(summary.campaignId, revocation.grantId);
    attention.push(
      `REMEDIATION: ${grant ? `${briefNames(grant).principal} ${grant.entitlement} on ${briefNames(grant).resource}` : revocation.grantId}: ${clip(revocation.remediation ?? 'no API removes this access')}`,
    );
  }
  for (const verification of await store.outcomes.listVerifications(summary.campaignId)) {
    if (verification.status !== 'present') continue;
    const grant = await store.grants.get(summary.campaignId, verification.grantId);
    if (!grant) continue;
    if (remediations.has(grant.grantId)) continue;
    const paths = verification.paths.map((p) => `${p.via} (${p.permission})`).join(', ');
    attention.push(
      `${briefNames(grant).principal} still has ${grant.entitlement} on ${briefNames(grant).resource} after its ${viaLabel(grant.via)} grant was revoked: via ${paths}`,
    );
  }
  for (const revocation of revocations) {
    if (revocation.status === 'rejected' || revocation.status === 'refused_protected') {
      const grant = await store.grants.get(summary.campaignId, revocation.grantId);
      const what = grant
        ? `${briefNames(grant).principal} ${grant.entitlement} on ${briefNames(grant).resource}`
        : revocation.grantId;
      attention.push(
        `${revocation.status === 'rejected' ? 'NOT REVOKED (held, not approved)' : "NOT REVOKED (the tool's own identity)"}: ${what}: ${clip((revocation.guardReasons ?? []).map((reason) => reason.detail).join('; '))}`,
      );
    }
    if (revocation.status === 'failed' || revocation.status === 'pending') {
      attention.push(
        `revocation of ${revocation.grantId} ${revocation.status}: ${revocation.error ?? 'not finished'}`,
      );
    }
  }
  for (const task of await store.tasks.list(summary.campaignId)) {
    if (task.status === 'unresponsive') {
      attention.push(
        `${task.reviewer} did not finish before the review window closed (${task.grantCount - task.decidedCount} of ${task.grantCount} grants undecided)`,
      );
    }
  }
  if (summary.unroutable > 0) attention.push(`${summary.unroutable} grants had no eligible reviewer`);
  // A separation-of-duties finding that survived the review is the security team's to look at.
  const decisions = new Map(
    (await store.decisions.list(summary.campaignId)).map((decision) => [decision.grantId, decision]),
  );
  // Read once for the two kinds of finding below.
  const grants = await store.grants.list(summary.campaignId);
  for (const grant of grants) {
    if (!(grant.flags ?? []).includes('separation_of_duties')) continue;
    const decision = decisions.get(grant.grantId);
    if (decision?.decision === 'revoke') continue;
    const why = Array.isArray(grant.raw.separationOfDuties) ? grant.raw.separationOfDuties.join('; ') : '';
    attention.push(
      `SEPARATION OF DUTIES ${decision ? `kept by ${decision.reviewer}` : 'undecided'}: ${briefNames(grant).principal} ${grant.entitlement} on ${briefNames(grant).resource}${why ? ` (${why})` : ''}`,
    );
  }
  // Trusts anyone could match, kept: the security team's to look at, like separation of duties.
  for (const grant of grants) {
    const open = (grant.flags ?? []).filter(
      (flag) => flag === 'wildcard_subject' || flag === 'any_principal',
    );
    if (open.length === 0 || !grant.reviewable) continue;
    const decision = decisions.get(grant.grantId);
    if (decision?.decision === 'revoke') continue;
    const names = briefNames(grant);
    attention.push(
      `${open.includes('any_principal') ? 'ANY PRINCIPAL' : 'WILDCARD SUBJECT'} ${decision ? `kept by ${decision.reviewer}` : 'undecided'}: ${names.principal} ${grant.entitlement} on ${names.resource}`,
    );
  }
  const lines = [table.toString()];
  if (attention.length > 0) lines.push('', 'Needs attention:', ...attention.map((line) => `  - ${line}`));
  return lines.join('\n');
}

/** What the revocation guard held, and what the security team answered. */
function guardRows(summary: CampaignSummary): string[][] {
  const guard = summary.revocationGuard;
  if (!guard) return [];
  const { counts, approval } = guard;
  const answer = !approval
    ? ''
    : approval.status === 'approved' || approval.status === 'rejected'
      ? `, ${approval.status} by ${approval.decidedBy}`
      : approval.status === 'expired'
        ? `, rejected: ${approval.reason ?? 'no answer'}`
        : ', awaiting an answer';
  return [
    [
      'Revocation guard',
      `${counts.held} held (limit ${guard.limits.maxRevokedPercent}%: ${guard.percentAllowance} of ${guard.reviewable})${answer}${
        counts.forbidden > 0 ? `, ${counts.forbidden} refused (own identity)` : ''
      }`,
    ],
    ...(summary.revocationsRejected + summary.revocationsRefused > 0
      ? [
          [
            'Not revoked',
            `${summary.revocationsRejected} rejected, ${summary.revocationsRefused} refused (own identity)`,
          ],
        ]
      : []),
  ];
}

/** Remediation texts carry whole policy documents; the terminal shows their start, the evidence all of it. */
function clip(text: string, length = 280): string {
  return text.length <= length ? text : `${text.slice(0, length)}… (in full in revocations.csv)`;
}

function sum(values: Record<string, number>): number {
  return Object.values(values).reduce((total, value) => total + value, 0);
}
