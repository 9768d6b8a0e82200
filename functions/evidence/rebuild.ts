import type { ApprovalRequest, StoredGuardSummary } from '../store/approvals';
import type { Campaign } from '../store/campaigns';
import { canonicalJson } from '../store/events';
import { type ChainFacts, DECISION, DECISION_KIND, LINE, type ReviewerFacts } from './chain-facts';
import { csvRows } from './csv-read';
import type { EvidenceFolder } from './folder';
import {
  type EvidenceFileName,
  type EvidenceFormat,
  REVIEWERS_HEADER,
  type ReviewerLine,
  reviewerRow,
} from './format';
import { type CampaignSummary, FORMAT_2_SUMMARY_FIELDS, SUMMARY_COUNTS } from './summary';
import type { FileHashes, Guarded } from './verify';

/**
 * Fields summary.json takes from the campaign item that the chain does not record (the chain has
 * the campaign_started and campaign_completed events' own times, not these): compared with
 * nothing, and named in the README's hash definitions.
 */
const UNANCHORED_SUMMARY_FIELDS = ['startedAt', 'completedAt'] as const;

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const shown = (value: unknown): string => {
  const json = JSON.stringify(value) ?? 'nothing';
  return json.length > 120 ? `${json.slice(0, 117)}…` : json;
};

/**
 * reviewers.csv and summary.json are what the export writes from the table; here they are written
 * again from the chain (and grants.csv where the chain holds only its digest) with the same code,
 * and compared field by field.
 */
export async function checkRebuilt(
  folder: EvidenceFolder,
  hashes: FileHashes,
  facts: ChainFacts,
  present: ReadonlySet<EvidenceFileName>,
  format: EvidenceFormat,
  findings: string[],
  notes: string[],
  guarded: Guarded,
): Promise<void> {
  await guarded('reviewers.csv', () => checkReviewers(folder, hashes, facts, findings, notes));
  feedSummary(facts);
  if (present.has('summary.json')) {
    await guarded('summary.json', () => checkSummary(folder, hashes, facts, format, findings, notes));
  }
}

/** Format 2's summary fields that say something (not zero, empty or null): what format 1 cannot show. */
function format2Facts(summary: CampaignSummary): string[] {
  const record = summary as unknown as Record<string, unknown>;
  return FORMAT_2_SUMMARY_FIELDS.filter((field) => {
    if (field === 'format') return false;
    const value = record[field];
    if (Array.isArray(value)) return value.length > 0;
    if (value !== null && typeof value === 'object') return Object.keys(value).length > 0;
    return value !== null && value !== undefined && value !== 0 && value !== '';
  });
}

/**
 * The task as the chain tells it; `unanchored` names the columns the chain does not record. A task
 * still open when the campaign was cancelled closed as cancelled, at the cancel's time.
 */
function reviewerLineOf(
  reviewer: ReviewerFacts,
  cancelled: ChainFacts['cancelled'],
): { line: ReviewerLine; unanchored: string[] } {
  const { requested } = reviewer;
  const closed =
    reviewer.closed ??
    (cancelled ? { seq: cancelled.seq, status: 'cancelled' as const, completedAt: cancelled.at } : undefined);
  const unanchored: string[] = [];
  const slackUserId = text(requested?.slackUserId) ?? reviewer.slackUserId;
  if (slackUserId === undefined) unanchored.push('slack_user_id');
  const grantCount = typeof requested?.grantCount === 'number' ? requested.grantCount : reviewer.grantCount;
  if (grantCount === undefined) unanchored.push('grants');
  let requestedAt: string | undefined;
  if (requested) {
    requestedAt = text(requested.requestedAt);
    if (requestedAt === undefined) unanchored.push('requested_at');
  }
  let completedAt: string | undefined;
  if (closed) {
    completedAt = text(closed.completedAt);
    if (completedAt === undefined) unanchored.push('completed_at');
  }
  const dueAt = text(requested?.dueAt) ?? reviewer.dueAt;
  if (dueAt === undefined) unanchored.push('due_at');
  return {
    line: {
      reviewer: reviewer.login,
      slackUserId: slackUserId ?? '',
      grantCount: grantCount ?? 0,
      status: closed?.status ?? (requested ? 'awaiting' : 'pending'),
      ...(requestedAt !== undefined ? { requestedAt } : {}),
      ...(completedAt !== undefined ? { completedAt } : {}),
      dueAt: dueAt ?? '',
    },
    unanchored,
  };
}

async function checkReviewers(
  folder: EvidenceFolder,
  hashes: FileHashes,
  facts: ChainFacts,
  findings: string[],
  notes: string[],
): Promise<void> {
  const assigned = [...facts.reviewers.values()].filter((reviewer) => reviewer.assigned);
  const expected = new Map(
    assigned.map((reviewer) => [reviewer.login, reviewerLineOf(reviewer, facts.cancelled)]),
  );
  const order: string[] = [];
  const unanchored = new Set<string>();
  const seen = new Set<string>();
  for await (const { row, line } of csvRows(
    folder,
    'reviewers.csv',
    REVIEWERS_HEADER,
    hashes.for('reviewers.csv'),
  )) {
    const login = row.reviewer ?? '';
    order.push(login);
    if (!facts.assignment) continue;
    const rebuilt = expected.get(login);
    if (!rebuilt || seen.has(login)) {
      findings.push(
        `reviewers.csv line ${line}: ${login} ${seen.has(login) ? 'is listed again' : 'was not assigned a review in the chain'}`,
      );
      continue;
    }
    seen.add(login);
    const cells = reviewerRow(rebuilt.line);
    for (const [i, column] of REVIEWERS_HEADER.entries()) {
      if (rebuilt.unanchored.includes(column)) {
        unanchored.add(column);
        continue;
      }
      if ((row[column] ?? '') !== cells[i]) {
        findings.push(
          `reviewers.csv line ${line}: ${login}'s ${column} is ${shown(row[column])}, the chain says ${shown(cells[i])}`,
        );
      }
    }
  }
  if (!facts.assignment) {
    if (order.length > 0) {
      notes.push("reviewers.csv: not anchored in this campaign's chain (it has no reviewers_assigned event)");
    }
    return;
  }
  for (const login of expected.keys()) {
    if (!seen.has(login))
      findings.push(`reviewers.csv: no row for ${login}, whose review the chain assigned`);
  }
  const sorted = [...order].sort((a, b) => a.localeCompare(b));
  if (sorted.some((login, i) => login !== order[i]))
    findings.push('reviewers.csv: rows are not in reviewer order');
  if (unanchored.size > 0) {
    notes.push(
      `reviewers.csv: ${[...unanchored].join(', ')} not anchored in this campaign's chain (its review events predate them)`,
    );
  }
}

/** The summary's task, decision and revocation counts come from the chain, once per reviewer or grant. */
function feedSummary(facts: ChainFacts): void {
  const { decisions, outcomes, verified, statuses, summary } = facts;
  for (const reviewer of facts.reviewers.values()) {
    if (reviewer.assigned) {
      summary.addTask({ status: reviewerLineOf(reviewer, facts.cancelled).line.status as never });
    }
  }
  const decisionOf = ['keep', 'revoke', 'downgrade', 'other'] as const;
  for (const { entry } of decisions.latest()) {
    const kind = decisions.payloadOf(entry)[DECISION.kind] ?? DECISION_KIND.other;
    summary.addDecision({ decision: decisionOf[kind] as never });
  }
  for (const { entry, grantId } of outcomes.latest()) {
    const v = verified.find(grantId);
    summary.addRevocation(
      { status: statuses.at(outcomes.payloadOf(entry)[LINE.status]) as never },
      v === -1 ? undefined : { status: statuses.at(verified.payloadOf(v)[LINE.status]) as never },
    );
  }
  for (const { entry } of verified.latest()) {
    summary.addVerification({ status: statuses.at(verified.payloadOf(entry)[LINE.status]) as never });
  }
}

/** The guard's summary item, as the revocation_guard_evaluated event recorded it. */
function guardOf(facts: ChainFacts): StoredGuardSummary | undefined {
  const data = facts.guardEvent?.data;
  return data ? ({ ...data, campaignId: facts.campaignId } as unknown as StoredGuardSummary) : undefined;
}

/** The security team's answer, as the approval events recorded it. */
function approvalOf(facts: ChainFacts, written: CampaignSummary | undefined): ApprovalRequest | undefined {
  let approval: ApprovalRequest | undefined;
  for (const event of facts.approvalEvents) {
    const { data } = event;
    // The summary shows only the answer, so an answer without its request is enough to rebuild it.
    approval ??= {
      campaignId: event.campaignId,
      status: 'awaiting',
      approvers: [],
      heldCount: Number(data.heldCount ?? 0),
      messages: [],
      requestedAt: event.at,
      dueAt: String(data.dueAt ?? ''),
    };
    if (event.type === 'revocation_batch_approved' || event.type === 'revocation_batch_rejected') {
      approval.status = event.type === 'revocation_batch_approved' ? 'approved' : 'rejected';
      approval.decidedBy = { login: String(data.approver), slackUserId: String(data.slackUserId) };
      approval.decidedAt = text(data.decidedAt);
    } else if (event.type === 'revocation_batch_expired') {
      approval.status = 'expired';
      approval.expiredReason = text(data.reason);
      // When it expired is the item's own clock; the event records only that and why.
      approval.decidedAt = written?.revocationGuard?.approval?.decidedAt ?? undefined;
    }
  }
  return approval;
}

async function checkSummary(
  folder: EvidenceFolder,
  hashes: FileHashes,
  facts: ChainFacts,
  format: EvidenceFormat,
  findings: string[],
  notes: string[],
): Promise<void> {
  const hash = hashes.for('summary.json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of folder.chunks('summary.json', hash)) {
    size += chunk.length;
    if (size > 16 * 1024 * 1024) throw new Error('more than 16 MB: not a summary');
    chunks.push(chunk);
  }
  const written = Buffer.concat(chunks).toString('utf8');
  let actual: CampaignSummary;
  try {
    actual = JSON.parse(written) as CampaignSummary;
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
      throw new SyntaxError('not an object');
  } catch (error) {
    findings.push(`summary.json: not JSON (${(error as Error).message})`);
    return;
  }
  const started = facts.started?.data ?? {};
  const failedWithoutEvent =
    !facts.failure && actual.outcome === 'failed' && actual.failure?.eventSeq === null;
  const campaign: Campaign = {
    campaignId: facts.campaignId ?? '',
    organization: String(started.organization ?? ''),
    status: (facts.completed ? 'completed' : facts.failure ? 'failed' : actual.status) as Campaign['status'],
    trigger: String(started.trigger ?? ''),
    requestedBy: String(started.requestedBy ?? ''),
    executionName: String(started.executionName ?? ''),
    startedAt: actual.startedAt,
    ...(actual.completedAt ? { completedAt: actual.completedAt } : {}),
    counts: {},
    ...(facts.snapshot?.data.usage
      ? { sourceUsage: facts.snapshot.data.usage as Campaign['sourceUsage'] }
      : {}),
    // A failure the chain never recorded (the event did not make it): only the item knows.
    ...(failedWithoutEvent
      ? { status: 'failed' as Campaign['status'], failure: actual.failure as never }
      : {}),
  };
  if (failedWithoutEvent)
    notes.push(
      "summary.json: the failure is not anchored in this campaign's chain (no campaign_failed event)",
    );
  facts.summary.describe(campaign, guardOf(facts), approvalOf(facts, actual));
  const rebuilt = facts.summary.build();
  const copy = (field: string) => {
    (rebuilt as unknown as Record<string, unknown>)[field] = (actual as unknown as Record<string, unknown>)[
      field
    ];
  };
  for (const field of UNANCHORED_SUMMARY_FIELDS) copy(field);
  if (format === 1) {
    // A folder written before format 2 has none of its fields, and its chain nothing they count.
    const hidden = format2Facts(rebuilt);
    if (hidden.length > 0) {
      findings.push(
        `manifest.json: the folder says format 1, which cannot show what the chain records (${hidden.join(', ')}): evidence of this campaign is format 2`,
      );
    }
    for (const field of FORMAT_2_SUMMARY_FIELDS)
      delete (rebuilt as unknown as Record<string, unknown>)[field];
  }
  // An older chain (or one a test built by hand) may lack what this release records: said, not compared.
  const missing: string[] = ['organization', 'trigger', 'requestedBy'].filter(
    (field) => typeof started[field] !== 'string',
  );
  if (!facts.assignment) missing.push('reviewersAsked', 'reviewersCompleted', 'reviewersUnresponsive');
  for (const field of missing) copy(field);
  if (missing.length > 0) {
    const why = [
      facts.started ? 'its campaign_started event predates them' : 'it has no campaign_started event',
      ...(facts.assignment ? [] : ['no reviewers_assigned event']),
    ].join(', ');
    notes.push(`summary.json: ${missing.join(', ')} not anchored in this campaign's chain (${why})`);
  }
  const keys = new Set([...Object.keys(rebuilt), ...Object.keys(actual)]);
  for (const key of keys) {
    const want = (rebuilt as unknown as Record<string, unknown>)[key];
    const have = (actual as unknown as Record<string, unknown>)[key];
    for (const [path, had, wanted] of differences(key, have, want)) {
      findings.push(
        `summary.json: ${path} is ${shown(had)}, the chain and the other files give ${shown(wanted)}`,
      );
    }
  }
  // The final event recorded the counts when the campaign closed (every event before it).
  const completed = facts.completed;
  const counts = completed?.data.counts as Record<string, unknown> | undefined;
  if (completed && counts && Object.keys(counts).length > 0) {
    for (const name of SUMMARY_COUNTS) {
      const expected = name === 'events' ? completed.seq - 1 : rebuilt[name];
      if (name in counts && counts[name] !== expected) {
        findings.push(
          `events.jsonl: campaign_completed (event ${completed.seq}) records ${name} ${shown(counts[name])}, the chain and the other files give ${shown(expected)}`,
        );
      }
    }
  }
}

/** The paths (`revocationGuard.counts.held`) at which two JSON values differ, a few at most. */
function differences(
  path: string,
  have: unknown,
  want: unknown,
  limit = 5,
): Array<[string, unknown, unknown]> {
  if (canonicalJson(have) === canonicalJson(want)) return [];
  const isObject = (value: unknown): value is Record<string, unknown> =>
    value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!isObject(have) || !isObject(want)) return [[path, have, want]];
  const found: Array<[string, unknown, unknown]> = [];
  for (const key of new Set([...Object.keys(want), ...Object.keys(have)])) {
    found.push(...differences(`${path}.${key}`, have[key], want[key], limit));
    if (found.length >= limit) break;
  }
  return found.slice(0, limit);
}
