import { DecisionTimeline, type Timeline } from './chart';
import { csvRows, hasFile, jsonLines, type Row } from './input';

/** Rows shown per table; the rest are counted and the reader is sent to the CSV. */
export const ROW_LIMIT = 500;
/** Distinct reasons (justifications, undecided notes) tallied one by one; the rest as "other". */
const TALLY_LIMIT = 50;

/** The first `limit` items and how many there were in all. */
export class Capped<T> {
  readonly rows: T[] = [];
  total = 0;
  constructor(private readonly limit = ROW_LIMIT) {}
  add(item: T): void {
    this.total += 1;
    if (this.rows.length < this.limit) this.rows.push(item);
  }
  get more(): number {
    return this.total - this.rows.length;
  }
}

/** Counts per distinct text, at most TALLY_LIMIT texts (the rest counted together). */
export class Tally {
  private readonly counts = new Map<string, number>();
  other = 0;
  add(key: string): void {
    const count = this.counts.get(key);
    if (count !== undefined) this.counts.set(key, count + 1);
    else if (this.counts.size < TALLY_LIMIT) this.counts.set(key, 1);
    else this.other += 1;
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  /** Most frequent first, then by text: the same counts always list in the same order. */
  entries(): Array<[string, number]> {
    return [...this.counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

export interface ReviewerLine {
  reviewer: string;
  slackUserId: string;
  grants: string;
  status: string;
  requestedAt: string;
  completedAt: string;
  dueAt: string;
  keep: number;
  revoke: number;
  downgrade: number;
  undecided: number;
}

export interface DecisionLine {
  principal: string;
  resource: string;
  entitlement: string;
  via: string;
  reviewer: string;
  decision: string;
  decidedAt: string;
  justification: string;
  note: string;
  /** Format 2: who decided (empty for the end-of-window policy), the downgrade's target, bulk, exception. */
  decidedBy: string;
  downgradeTo: string;
  bulk: boolean;
  exception: string;
}

/** A grant_reassigned event, as the report lists it. */
export interface HandoverLine {
  grantId: string;
  taskReviewer: string;
  from: string;
  to: string;
  by: string;
  note: string;
  at: string;
}

export interface RevocationLine {
  principal: string;
  resource: string;
  entitlement: string;
  via: string;
  decidedBy: string;
  grantKind: string;
  status: string;
  appliedAt: string;
  action: string;
  remediation: string;
  error: string;
  verification: string;
  verifiedAt: string;
  stillPresentVia: string;
  guard: string;
  guardReasons: string;
  /** Format 2: revoke or downgrade, and the downgrade's target. */
  decision: string;
  downgradeTo: string;
}

export interface EventFacts {
  count: number;
  started: Record<string, unknown> | null;
  startedAt: string | null;
  snapshot: Record<string, unknown> | null;
  /** The last campaign_completed / campaign_failed / campaign_resumed, as the chain ends. */
  terminal: { type: string; at: string; data: Record<string, unknown> } | null;
  /** The security team's answer on held revocations (revocation_batch_*), last one. */
  batch: { type: string; at: string; data: Record<string, unknown> } | null;
  lastHash: string | null;
  /** campaign_cancelled, when the campaign was. */
  cancelled: { at: string; seq: number; data: Record<string, unknown> } | null;
  /** reminder_sent per reviewer. */
  reminders: Tally;
  /** grant_reassigned, in chain order. */
  handovers: Capped<HandoverLine>;
}

/** What signatures.jsonl says (absent for a campaign from before signing). */
export interface SignatureFacts {
  count: number;
  /** The last signature: the one over the latest head. */
  last: {
    seq: number | null;
    hash: string;
    keyId: string;
    keySha256: string;
    algorithm: string;
    signedAt: string;
  } | null;
  /** Distinct signing keys (by keySha256), at most a few: keys rotate rarely. */
  keys: number;
}

export interface ReportModel {
  summary: Record<string, unknown>;
  signatures: SignatureFacts | null;
  events: EventFacts;
  timeline: Timeline;
  reviewers: Capped<ReviewerLine>;
  /** Decisions whose reviewer reviewers.csv does not list. */
  decisionsOfUnlistedReviewers: number;
  /** The evidence format of the folder (summary.json's `format`; 1 when it has none). */
  format: number;
  decisions: {
    rows: number;
    keep: number;
    revoke: number;
    downgrade: number;
    undecided: number;
    /** Format 2: decisions the end-of-window policy took (exceptions, not reviews). */
    policy: Capped<DecisionLine>;
    reasons: Tally;
    /** Revoke decisions and any decision with a reason given. */
    withReason: Capped<DecisionLine>;
    undecidedRows: Capped<DecisionLine>;
    undecidedWhy: Tally;
  };
  revocations: {
    rows: Capped<RevocationLine>;
    status: Tally;
    verification: Tally;
    guard: Tally;
    remediation: Capped<RevocationLine>;
    remediationOpen: number;
    /** Removed (or so the API said) and still present when read back: another path gives it. */
    stillPresent: Capped<RevocationLine>;
    failed: Capped<RevocationLine>;
    /** Held, rejected, refused: what the revocation guard stopped or made wait. */
    guarded: Capped<RevocationLine>;
    policyChanged: number;
  };
}

const REVIEWER_COLUMNS = [
  'reviewer',
  'slack_user_id',
  'grants',
  'status',
  'requested_at',
  'completed_at',
  'due_at',
];
const DECISION_COLUMNS = [
  'principal',
  'resource',
  'entitlement',
  'via',
  'reviewer',
  'decision',
  'decided_at',
  'justification',
  'note',
];
const REVOCATION_COLUMNS = [
  'principal',
  'resource',
  'entitlement',
  'via',
  'decided_by',
  'revocation_status',
  'verification',
];

function decisionLine(row: Row): DecisionLine {
  return {
    principal: row('principal'),
    resource: row('resource'),
    entitlement: row('entitlement'),
    via: row('via'),
    reviewer: row('reviewer'),
    decision: row('decision'),
    decidedAt: row('decided_at'),
    justification: row('justification'),
    note: row('note'),
    decidedBy: row('decided_by'),
    downgradeTo: row('downgrade_to'),
    bulk: row('bulk') === 'true',
    exception: row('exception'),
  };
}

function revocationLine(row: Row): RevocationLine {
  return {
    principal: row('principal'),
    resource: row('resource'),
    entitlement: row('entitlement'),
    via: row('via'),
    decidedBy: row('decided_by'),
    grantKind: row('grant_kind'),
    status: row('revocation_status'),
    appliedAt: row('applied_at'),
    action: row('action'),
    remediation: row('remediation'),
    error: row('error'),
    verification: row('verification'),
    verifiedAt: row('verified_at'),
    stillPresentVia: row('still_present_via'),
    guard: row('guard'),
    guardReasons: row('guard_reasons'),
    decision: row('decision'),
    downgradeTo: row('downgrade_to'),
  };
}

/** Why a grant stayed undecided, as a category: the note names the reviewer's routing otherwise. */
export function undecidedCategory(note: string): string {
  if (note.startsWith('no eligible reviewer')) return 'no eligible reviewer';
  if (note.startsWith('reviewer did not answer'))
    return 'reviewer did not answer before the review window closed';
  return note === '' ? 'undecided' : note;
}

function record(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

async function readEvents(dir: string, timeline: DecisionTimeline): Promise<EventFacts> {
  const facts: EventFacts = {
    count: 0,
    started: null,
    startedAt: null,
    snapshot: null,
    terminal: null,
    batch: null,
    lastHash: null,
    cancelled: null,
    reminders: new Tally(),
    handovers: new Capped(),
  };
  for await (const event of jsonLines(dir, 'events.jsonl')) {
    facts.count += 1;
    const type = typeof event.type === 'string' ? event.type : '';
    const at = typeof event.at === 'string' ? event.at : '';
    const data = record(event.data) ?? {};
    facts.lastHash = typeof event.hash === 'string' ? event.hash : null;
    switch (type) {
      case 'decision_recorded':
        timeline.add(event.at, data.decision);
        break;
      case 'campaign_started':
        facts.started ??= data;
        facts.startedAt ??= at;
        break;
      case 'snapshot_taken':
        facts.snapshot ??= data;
        break;
      case 'campaign_completed':
      case 'campaign_failed':
      case 'campaign_resumed':
        facts.terminal = { type, at, data };
        break;
      case 'campaign_cancelled':
        facts.cancelled ??= { at, seq: typeof event.seq === 'number' ? event.seq : 0, data };
        break;
      case 'reminder_sent':
        facts.reminders.add(typeof data.reviewer === 'string' ? data.reviewer : '');
        break;
      case 'grant_reassigned': {
        const text = (value: unknown) => (typeof value === 'string' ? value : '');
        facts.handovers.add({
          grantId: text(data.grantId),
          taskReviewer: text(data.taskReviewer),
          from: text(data.from),
          to: text(data.to),
          by: text(data.by),
          note: text(data.note),
          at,
        });
        break;
      }
      case 'revocation_batch_approved':
      case 'revocation_batch_rejected':
      case 'revocation_batch_expired':
        facts.batch = { type, at, data };
        break;
    }
  }
  return facts;
}

const SIGNATURES_FILE = 'signatures.jsonl';

/** Counts the chain-head signatures and keeps the last; it does not check them (verify-evidence does). */
async function readSignatures(dir: string): Promise<SignatureFacts | null> {
  if (!(await hasFile(dir, SIGNATURES_FILE))) return null;
  const facts: SignatureFacts = { count: 0, last: null, keys: 0 };
  const keys = new Set<string>();
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  for await (const line of jsonLines(dir, SIGNATURES_FILE)) {
    facts.count += 1;
    if (keys.size < 100) keys.add(text(line.keySha256));
    facts.last = {
      seq: typeof line.seq === 'number' ? line.seq : null,
      hash: text(line.hash),
      keyId: text(line.keyId),
      keySha256: text(line.keySha256),
      algorithm: text(line.algorithm),
      signedAt: text(line.signedAt),
    };
  }
  facts.keys = keys.size;
  return facts;
}

/**
 * Everything the report shows, read from the folder's files one row at a time: counters, tallies,
 * one line per reviewer, and the first ROW_LIMIT rows of each table. Memory does not grow with the
 * number of grants.
 */
export async function buildModel(dir: string, summary: Record<string, unknown>): Promise<ReportModel> {
  const reviewers = new Capped<ReviewerLine>(Number.POSITIVE_INFINITY);
  const byReviewer = new Map<string, ReviewerLine>();
  for await (const row of csvRows(dir, 'reviewers.csv', REVIEWER_COLUMNS)) {
    const line: ReviewerLine = {
      reviewer: row('reviewer'),
      slackUserId: row('slack_user_id'),
      grants: row('grants'),
      status: row('status'),
      requestedAt: row('requested_at'),
      completedAt: row('completed_at'),
      dueAt: row('due_at'),
      keep: 0,
      revoke: 0,
      downgrade: 0,
      undecided: 0,
    };
    reviewers.add(line);
    if (!byReviewer.has(line.reviewer)) byReviewer.set(line.reviewer, line);
  }

  const decisions: ReportModel['decisions'] = {
    rows: 0,
    keep: 0,
    revoke: 0,
    downgrade: 0,
    undecided: 0,
    policy: new Capped(),
    reasons: new Tally(),
    withReason: new Capped(),
    undecidedRows: new Capped(),
    undecidedWhy: new Tally(),
  };
  let unlisted = 0;
  for await (const row of csvRows(dir, 'decisions.csv', DECISION_COLUMNS)) {
    decisions.rows += 1;
    const decision = row('decision');
    const reviewer = byReviewer.get(row('reviewer'));
    if (!reviewer && decision !== 'none') unlisted += 1;
    const justification = row('justification');
    if (decision === 'keep' || decision === 'revoke') {
      decisions[decision] += 1;
      if (reviewer) reviewer[decision] += 1;
      if (justification !== '') decisions.reasons.add(justification);
      // Format 2 also lists decisions taken for the reviewer (delegation, escalation).
      const forReviewer = row('decided_by') !== '' && row('decided_by') !== row('reviewer');
      if (decision === 'revoke' || justification !== '' || forReviewer) {
        decisions.withReason.add(decisionLine(row));
      }
      if (row('exception') !== '') decisions.policy.add(decisionLine(row));
    } else if (decision === 'downgrade') {
      // A downgrade changes the grant as a revocation would: listed with the revoke decisions.
      decisions.downgrade += 1;
      if (reviewer) reviewer.downgrade += 1;
      if (justification !== '') decisions.reasons.add(justification);
      decisions.withReason.add(decisionLine(row));
    } else {
      decisions.undecided += 1;
      if (reviewer) reviewer.undecided += 1;
      decisions.undecidedWhy.add(undecidedCategory(row('note')));
      decisions.undecidedRows.add(decisionLine(row));
    }
  }

  const revocations: ReportModel['revocations'] = {
    rows: new Capped(),
    status: new Tally(),
    verification: new Tally(),
    guard: new Tally(),
    remediation: new Capped(),
    remediationOpen: 0,
    stillPresent: new Capped(),
    failed: new Capped(),
    guarded: new Capped(),
    policyChanged: 0,
  };
  for await (const row of csvRows(dir, 'revocations.csv', REVOCATION_COLUMNS)) {
    const line = revocationLine(row);
    revocations.rows.add(line);
    revocations.status.add(line.status);
    revocations.verification.add(line.verification);
    if (line.guard !== '') revocations.guard.add(line.guard);
    if (row('policy_changes') !== '') revocations.policyChanged += 1;
    if (line.status === 'remediation_required' || line.remediation !== '') {
      revocations.remediation.add(line);
      if (line.verification !== 'confirmed_absent') revocations.remediationOpen += 1;
    } else if (line.verification === 'still_present') {
      revocations.stillPresent.add(line);
    }
    if (line.status === 'failed' || line.error !== '') revocations.failed.add(line);
    if (
      line.guard === 'held' ||
      line.guard === 'forbidden' ||
      line.status === 'rejected' ||
      line.status === 'refused_protected'
    ) {
      revocations.guarded.add(line);
    }
  }

  const timeline = new DecisionTimeline();
  const events = await readEvents(dir, timeline);
  return {
    summary,
    signatures: await readSignatures(dir),
    events,
    timeline: timeline.build(),
    reviewers,
    format: typeof summary.format === 'number' ? summary.format : 1,
    decisionsOfUnlistedReviewers: unlisted,
    decisions,
    revocations,
  };
}
