import Table from 'cli-table3';
import { viaLabel } from '../../functions/core/grant';
import type { CampaignSummary } from '../../functions/evidence/summary';
import type { Store } from '../../functions/store/index';

/** The end-of-run table a person reads in the terminal, plus what still needs attention. */
export async function renderSummary(store: Store, summary: CampaignSummary): Promise<string> {
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
    ['Revocations verified', `${summary.verifiedAbsent} confirmed absent`],
    ['Still present', String(summary.stillPresent)],
    [
      'Event chain',
      summary.chainIntact ? `${summary.events} events, head ${summary.chainHead?.slice(0, 16)}…` : 'BROKEN',
    ],
  );
  const lines = [table.toString()];
  const stillPresent = (await store.outcomes.listVerifications(summary.campaignId)).filter(
    (v) => v.status === 'present',
  );
  if (stillPresent.length > 0) {
    lines.push('', 'Still present after revocation:');
    for (const verification of stillPresent) {
      const grant = await store.grants.get(summary.campaignId, verification.grantId);
      if (!grant) continue;
      lines.push(
        `  - ${grant.principal} ${grant.entitlement} on ${grant.resource} (revoked ${viaLabel(grant.via)}), still via ${verification.paths
          .map((p) => `${p.via} (${p.permission})`)
          .join(', ')}`,
      );
    }
  }
  const unresponsive = (await store.tasks.list(summary.campaignId)).filter(
    (t) => t.status === 'unresponsive',
  );
  for (const task of unresponsive) {
    lines.push(`  - ${task.reviewer} did not finish their review before the window closed`);
  }
  return lines.join('\n');
}
