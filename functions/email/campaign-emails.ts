import type { CampaignRecords, CampaignSummary } from '../evidence/summary';
import type { StoredGrant } from '../store/grants';
import type { Revocation } from '../store/outcomes';
import { type Block, capRows, type RenderedEmail, renderEmail } from './render';

/**
 * What Finalize tells the security team: the campaign summary (always, when configured), and a
 * separate "needs attention" email listing only what a person must act on. Both are built from the
 * campaign's records as Finalize read them (the same records its summary and final event count), so
 * the email says what the evidence says.
 */

export interface CampaignEmailFacts {
  campaignId: string;
  organization: string;
  trigger: string;
  requestedBy: string;
  startedAt: string;
  closedAt: string;
  status: 'completed' | 'cancelled';
  /** Scope terms ([] = everything) and reason, as campaign_started recorded them. */
  scope: string[];
  reason: string | null;
  cancelled: {
    by: string;
    byName: string | null;
    reason: string | null;
    phase: string | null;
    at: string;
  } | null;
  counts: {
    grants: number;
    reviewable: number;
    reviewersAsked: number;
    reviewersCompleted: number;
    reviewersUnresponsive: number;
    reviewersCancelled: number;
    decided: number;
    kept: number;
    revoked: number;
    downgraded: number;
    undecided: number;
    unroutable: number;
    revocationsApplied: number;
    revocationsFailed: number;
    revocationsRejected: number;
    revocationsRefused: number;
    remediationsRequired: number;
    remediationsOpen: number;
    verifiedAbsent: number;
    stillPresent: number;
    unverified: number;
    delegated: number;
  };
  reviewers: Array<{ reviewer: string; decided: number; total: number; status: string }>;
  /** End-of-window policy decisions: exceptions, not reviews. */
  policyDecisions: Array<{ grant: string; reviewer: string; policy: string }>;
  escalations: Array<{ grant: string; from: string; to: string }>;
  attention: {
    failed: Array<{ grant: string; error: string }>;
    stillPresent: Array<{ grant: string; paths: number }>;
    unverified: Array<{ grant: string }>;
    remediations: Array<{ grant: string; remediation: string }>;
    unresponsive: Array<{ reviewer: string; undecided: number }>;
    /** Held revocations nobody approved within the approval window. */
    rejectedByTimeout: Array<{ grant: string }>;
    escalations: Array<{ grant: string; from: string; to: string }>;
    undecided: number;
    unroutable: number;
  };
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** `mallory → acme/api (admin, repository_collaborator)`: what a person recognises a grant by. */
export function grantLabel(grant: StoredGrant | undefined, grantId: string): string {
  return grant
    ? `${grant.principal} → ${grant.resource} (${grant.entitlement}, ${grant.grantKind})`
    : grantId;
}

/** Outcomes that changed the source and so need a verification that they hold. */
const APPLIED: ReadonlySet<Revocation['status']> = new Set(['removed', 'already_absent']);

export function campaignEmailFacts(
  records: CampaignRecords,
  summary: CampaignSummary,
  closedAt: string,
): CampaignEmailFacts {
  const grants = new Map(records.grants.map((grant) => [grant.grantId, grant]));
  const label = (grantId: string) => grantLabel(grants.get(grantId), grantId);
  const verification = new Map(records.verifications.map((v) => [v.grantId, v]));
  const started = records.events.find((event) => event.type === 'campaign_started')?.data ?? {};
  const cancelEvent = records.events.find((event) => event.type === 'campaign_cancelled');
  const item = (records.campaign as { cancellation?: Record<string, unknown> }).cancellation;
  const cancellation = cancelEvent
    ? {
        by: text(cancelEvent.data.by) ?? 'unknown',
        byName: text(cancelEvent.data.byName),
        reason: text(cancelEvent.data.reason),
        phase: text(cancelEvent.data.phase),
        at: cancelEvent.at,
      }
    : item
      ? {
          by: text(item.by) ?? 'unknown',
          byName: text(item.byName),
          reason: text(item.reason),
          phase: text(item.phase),
          at: text(item.at) ?? '',
        }
      : null;
  const policyDecisions = records.events
    .filter((event) => event.type === 'window_policy_applied')
    .map((event) => ({
      grant: label(String(event.data.grantId)),
      reviewer: text(event.data.reviewer) ?? '',
      policy: text(event.data.policy) ?? '',
    }));
  const reassigned = records.events.filter((event) => event.type === 'grant_reassigned');
  const escalations = reassigned
    .filter((event) => event.data.by === 'escalation')
    .map((event) => ({
      grant: label(String(event.data.grantId)),
      from: text(event.data.from) ?? '',
      to: text(event.data.to) ?? '',
    }));
  const attention: CampaignEmailFacts['attention'] = {
    failed: [],
    stillPresent: [],
    unverified: [],
    remediations: [],
    unresponsive: [],
    rejectedByTimeout: [],
    escalations,
    // A cancel leaves grants undecided on purpose: that is the cancel, not something to chase.
    undecided: cancellation ? 0 : summary.undecided,
    unroutable: summary.unroutable,
  };
  const expired = records.approval?.status === 'expired';
  for (const revocation of records.revocations) {
    const checked = verification.get(revocation.grantId);
    if (revocation.status === 'failed') {
      attention.failed.push({
        grant: label(revocation.grantId),
        error: revocation.error ?? 'no error recorded',
      });
    } else if (revocation.status === 'remediation_required' && checked?.status !== 'absent') {
      attention.remediations.push({
        grant: label(revocation.grantId),
        remediation: revocation.remediation ?? revocation.action ?? 'see the evidence pack',
      });
    } else if (revocation.status === 'rejected' && expired) {
      attention.rejectedByTimeout.push({ grant: label(revocation.grantId) });
    } else if (APPLIED.has(revocation.status)) {
      if (checked?.status === 'present') {
        attention.stillPresent.push({ grant: label(revocation.grantId), paths: checked.paths.length });
      } else if (!checked) attention.unverified.push({ grant: label(revocation.grantId) });
    }
  }
  const status = cancellation ? 'cancelled' : 'completed';
  const reviewers = [...records.tasks]
    .sort((a, b) => a.reviewer.localeCompare(b.reviewer))
    .map((task) => ({
      reviewer: task.reviewer,
      decided: task.decidedCount,
      total: task.grantCount,
      status: task.status,
    }));
  // A cancelled campaign's open reviews were closed by the cancel, not by silence.
  for (const task of records.tasks) {
    if (task.status === 'unresponsive') {
      attention.unresponsive.push({
        reviewer: task.reviewer,
        undecided: task.grantCount - task.decidedCount,
      });
    }
  }
  attention.unresponsive.sort((a, b) => a.reviewer.localeCompare(b.reviewer));
  return {
    campaignId: records.campaign.campaignId,
    organization: records.campaign.organization,
    trigger: records.campaign.trigger,
    requestedBy: records.campaign.requestedBy,
    startedAt: records.campaign.startedAt,
    closedAt,
    status,
    scope: Array.isArray(started.scope)
      ? started.scope.filter((term): term is string => typeof term === 'string')
      : [],
    reason: text(started.reason),
    cancelled: cancellation
      ? {
          by: cancellation.by,
          byName: cancellation.byName,
          reason: cancellation.reason,
          phase: cancellation.phase,
          at: cancellation.at,
        }
      : null,
    counts: {
      grants: summary.grants,
      reviewable: summary.reviewable,
      reviewersAsked: summary.reviewersAsked,
      reviewersCompleted: summary.reviewersCompleted,
      reviewersUnresponsive: summary.reviewersUnresponsive,
      reviewersCancelled: records.tasks.filter((task) => task.status === 'cancelled').length,
      decided: summary.decided,
      kept: summary.kept,
      revoked: summary.revoked,
      downgraded: records.decisions.filter((decision) => decision.decision === 'downgrade').length,
      undecided: summary.undecided,
      unroutable: summary.unroutable,
      revocationsApplied: summary.revocationsApplied,
      revocationsFailed: summary.revocationsFailed,
      revocationsRejected: summary.revocationsRejected,
      revocationsRefused: summary.revocationsRefused,
      remediationsRequired: summary.remediationsRequired,
      remediationsOpen: summary.remediationsOpen,
      verifiedAbsent: summary.verifiedAbsent,
      stillPresent: summary.stillPresent,
      unverified: attention.unverified.length,
      delegated: reassigned.filter((event) => event.data.by === 'delegation').length,
    },
    reviewers,
    policyDecisions,
    escalations,
    attention,
  };
}

/** Whether anything needs a person: what the "needs attention" email lists. */
export function needsAttention(facts: CampaignEmailFacts): boolean {
  const a = facts.attention;
  return (
    a.failed.length +
      a.stillPresent.length +
      a.unverified.length +
      a.remediations.length +
      a.unresponsive.length +
      a.rejectedByTimeout.length +
      a.escalations.length +
      a.undecided +
      a.unroutable >
    0
  );
}

function table(caption: string, columns: string[], rows: string[][]): Block {
  const capped = capRows(rows);
  return { kind: 'table', caption, columns, rows: capped.rows, omitted: capped.omitted };
}

const EVIDENCE_HINT = (campaignId: string) =>
  `The evidence pack has every record: npx access-review evidence --campaign ${campaignId} --out DIR (it verifies what it writes).`;

function cancelledBy(facts: CampaignEmailFacts): string {
  const cancelled = facts.cancelled;
  if (!cancelled) return '';
  return `${cancelled.byName ?? cancelled.by}${cancelled.byName ? ` (${cancelled.by})` : ''}`;
}

export function summaryEmail(facts: CampaignEmailFacts): RenderedEmail {
  const c = facts.counts;
  const cancelled = facts.status === 'cancelled';
  const blocks: Block[] = [];
  if (cancelled && facts.cancelled) {
    blocks.push({
      kind: 'paragraph',
      text: `This campaign was cancelled by ${cancelledBy(facts)} at ${facts.cancelled.at}${facts.cancelled.reason ? `: ${facts.cancelled.reason}` : ''}. A cancelled campaign revokes nothing: no revocation was applied after the cancel, and the decisions taken before it were not carried out.`,
    });
  }
  blocks.push({
    kind: 'facts',
    rows: [
      ['Campaign', facts.campaignId],
      ['Organization', facts.organization],
      ['Status', cancelled ? 'cancelled' : 'completed'],
      ['Started', `${facts.startedAt} (${facts.trigger}, requested by ${facts.requestedBy})`],
      [cancelled ? 'Closed' : 'Completed', facts.closedAt],
      ['Scope', facts.scope.length > 0 ? facts.scope.join(', ') : 'everything configured'],
      ...(facts.reason ? [['Reason', facts.reason] as const] : []),
    ],
  });
  blocks.push(
    { kind: 'heading', text: 'Review' },
    {
      kind: 'facts',
      rows: [
        ['Grants', `${c.grants} (${c.reviewable} reviewable)`],
        [
          'Reviewers',
          `${c.reviewersAsked} asked: ${c.reviewersCompleted} completed, ${c.reviewersUnresponsive} unresponsive${c.reviewersCancelled ? `, ${c.reviewersCancelled} closed by the cancel` : ''}`,
        ],
        ['Decisions', `${c.decided}: ${c.kept} kept, ${c.revoked} revoked, ${c.downgraded} downgraded`],
        ['Undecided', c.undecided],
        ['No eligible reviewer', c.unroutable],
        ['Handed over', `${facts.escalations.length} by escalation, ${c.delegated} by delegation`],
      ],
    },
  );
  if (facts.reviewers.length > 0) {
    blocks.push(
      table(
        'Per reviewer',
        ['Reviewer', 'Decided', 'Status'],
        facts.reviewers.map((r) => [r.reviewer, `${r.decided} of ${r.total}`, r.status]),
      ),
    );
  }
  blocks.push({ kind: 'heading', text: 'Revocations' });
  if (cancelled && c.revocationsApplied + c.revocationsFailed === 0) {
    blocks.push({ kind: 'paragraph', text: 'None: the campaign was cancelled before any revocation.' });
  }
  blocks.push({
    kind: 'facts',
    rows: [
      ['Applied', c.revocationsApplied],
      ['Verified gone', c.verifiedAbsent],
      ['Still present after revocation', c.stillPresent],
      ['Not verified', c.unverified],
      ['Failed', c.revocationsFailed],
      ['Held and not approved', c.revocationsRejected],
      ["Refused (the tool's own identity)", c.revocationsRefused],
      ['Remediation by a person', `${c.remediationsRequired} (${c.remediationsOpen} still open)`],
    ],
  });
  blocks.push({ kind: 'heading', text: 'Exceptions' });
  if (facts.policyDecisions.length === 0 && !cancelled) {
    blocks.push({
      kind: 'paragraph',
      text: 'No end-of-window policy decision: every decision was a person’s.',
    });
  }
  if (facts.policyDecisions.length > 0) {
    blocks.push(
      table(
        'Decided by the end-of-window policy (not by a reviewer)',
        ['Grant', 'Reviewer', 'Policy'],
        facts.policyDecisions.map((d) => [d.grant, d.reviewer, d.policy]),
      ),
    );
  }
  if (cancelled) blocks.push({ kind: 'paragraph', text: `Cancelled by ${cancelledBy(facts)}.` });
  blocks.push({
    kind: 'paragraph',
    text: needsAttention(facts)
      ? 'Some items need a person: they are listed in a separate "needs attention" email.'
      : 'Nothing needs a person.',
  });
  return renderEmail({
    title: `access-review: campaign ${facts.campaignId} ${cancelled ? 'cancelled' : 'completed'}`,
    blocks,
    footer: `Sent by access-review to the security team (notifications.email) when the campaign closed. ${EVIDENCE_HINT(facts.campaignId)}`,
  });
}

export function needsAttentionEmail(facts: CampaignEmailFacts): RenderedEmail | undefined {
  if (!needsAttention(facts)) return undefined;
  const a = facts.attention;
  const blocks: Block[] = [
    {
      kind: 'paragraph',
      text: `Campaign ${facts.campaignId} (${facts.organization}) ${facts.status === 'cancelled' ? 'was cancelled' : 'completed'}, and these items need a person. Each is in the evidence pack with its full record.`,
    },
  ];
  if (a.failed.length > 0) {
    blocks.push(
      { kind: 'heading', text: `Revocations that failed (${a.failed.length})` },
      {
        kind: 'paragraph',
        text: 'The access is still there. Remove it at the source, or fix the cause and redrive.',
      },
      table(
        'Failed revocations',
        ['Grant', 'Error'],
        a.failed.map((f) => [f.grant, f.error]),
      ),
    );
  }
  if (a.stillPresent.length > 0) {
    blocks.push(
      { kind: 'heading', text: `Revoked access that is still there (${a.stillPresent.length})` },
      {
        kind: 'paragraph',
        text: 'The verification read the source again and still found the access, by another path.',
      },
      table(
        'Still present after revocation',
        ['Grant', 'Paths still giving it'],
        a.stillPresent.map((s) => [s.grant, String(s.paths)]),
      ),
    );
  }
  if (a.unverified.length > 0) {
    blocks.push(
      { kind: 'heading', text: `Revocations not verified (${a.unverified.length})` },
      table(
        'Not verified',
        ['Grant'],
        a.unverified.map((u) => [u.grant]),
      ),
    );
  }
  if (a.remediations.length > 0) {
    blocks.push(
      { kind: 'heading', text: `Remediation by a person (${a.remediations.length})` },
      { kind: 'paragraph', text: 'No API removes these: someone must do what each row says.' },
      table(
        'Open remediations',
        ['Grant', 'What to do'],
        a.remediations.map((r) => [r.grant, r.remediation]),
      ),
    );
  }
  if (a.rejectedByTimeout.length > 0) {
    blocks.push(
      {
        kind: 'heading',
        text: `Held revocations nobody approved in time (${a.rejectedByTimeout.length})`,
      },
      {
        kind: 'paragraph',
        text: 'The revocation guard held these for the security team, and the approval window closed without an answer, so they were not applied.',
      },
      table(
        'Rejected by timeout',
        ['Grant'],
        a.rejectedByTimeout.map((r) => [r.grant]),
      ),
    );
  }
  if (a.unresponsive.length > 0) {
    blocks.push(
      { kind: 'heading', text: `Reviewers who did not answer (${a.unresponsive.length})` },
      table(
        'Unresponsive reviewers',
        ['Reviewer', 'Grants left undecided'],
        a.unresponsive.map((u) => [u.reviewer, String(u.undecided)]),
      ),
    );
  }
  if (a.escalations.length > 0) {
    blocks.push(
      { kind: 'heading', text: `Grants escalated to another reviewer (${a.escalations.length})` },
      table(
        'Escalations',
        ['Grant', 'From', 'To'],
        a.escalations.map((e) => [e.grant, e.from, e.to]),
      ),
    );
  }
  if (a.undecided > 0 || a.unroutable > 0) {
    blocks.push(
      { kind: 'heading', text: 'Grants nobody decided' },
      {
        kind: 'facts',
        rows: [
          ['Left undecided', a.undecided],
          ['No eligible reviewer', a.unroutable],
        ],
      },
    );
  }
  return renderEmail({
    title: `access-review: campaign ${facts.campaignId} needs attention`,
    blocks,
    footer: `Sent by access-review to the security team (notifications.email) when the campaign closed. ${EVIDENCE_HINT(facts.campaignId)}`,
  });
}
