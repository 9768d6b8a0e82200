import type { Hash } from 'node:crypto';
import { createHash } from 'node:crypto';
import { parseJsonRecord } from '../core/records';
import { type CampaignEvent, ChainVerifier, canonicalJson, eventHash } from '../store/events';
import type { EvidenceFolder } from './folder';
import { linesOf } from './folder';
import { GrantIndex } from './grant-index';
import { SummaryBuilder } from './summary';

export const OUTCOME_TYPES = new Set([
  'revocation_applied',
  'revocation_failed',
  'revocation_rejected',
  'revocation_refused',
]);

/**
 * Decision payload: [seq, fingerprint×4, revoke, reviewer, recovered].
 * Outcome / verification payload: [seq, offset lo, offset hi, length, policy changes, status].
 */
export const DECISION_WIDTH = 8;
export const LINE_WIDTH = 6;
export const DECISION = { seq: 0, revoke: 5, reviewer: 6, recovered: 7 } as const;
export const LINE = { seq: 0, changes: 4, status: 5 } as const;

/** 128 bits of SHA-256 over what a decisions.csv row and its event must agree on. */
export function fingerprint(values: readonly unknown[]): number[] {
  const digest = createHash('sha256').update(canonicalJson(values)).digest();
  return [0, 1, 2, 3].map((word) => digest.readUInt32BE(word * 4));
}

/** Strings that repeat (reviewers, statuses) as small numbers for the typed-array payloads. */
export class Interner {
  private readonly numbers = new Map<string, number>();
  readonly values: string[] = [];
  of(value: string): number {
    let number = this.numbers.get(value);
    if (number === undefined) {
      number = this.values.length;
      this.values.push(value);
      this.numbers.set(value, number);
    }
    return number;
  }
  at(number: number | undefined): string {
    return this.values[number ?? -1] ?? '';
  }
}

/** One reviewer's task as the chain tells it (reviewers_assigned, review_requested, the close). */
export interface ReviewerFacts {
  login: string;
  assigned: boolean;
  slackUserId?: string;
  /** The due date the assignment gave the task (a request moves it). */
  dueAt?: string;
  grantCount?: number;
  requested?: {
    seq: number;
    slackUserId?: unknown;
    grantCount?: unknown;
    dueAt?: unknown;
    requestedAt?: unknown;
  };
  closed?: {
    seq: number;
    status: 'completed' | 'unresponsive';
    decided?: unknown;
    completedAt?: unknown;
  };
  /** decision_recorded events naming this reviewer. */
  decisions: number;
  /**
   * Of those, decisions clicked while the review was open (their `at` is not after the close's
   * `completedAt`) whose event landed after the close: the click read the task open, the window
   * closed, then its decision was written. The close did not count them.
   */
  lateDecisions?: number;
}

/** What one pass over events.jsonl keeps: a few events whole, per reviewer a line, per grant index entries. */
export interface ChainFacts {
  campaignId: string | undefined;
  length: number;
  last: CampaignEvent | undefined;
  chainHead: string | null;
  chainFinding: string | undefined;
  started: CampaignEvent | undefined;
  snapshot: CampaignEvent | undefined;
  assignment: CampaignEvent | undefined;
  guardEvent: CampaignEvent | undefined;
  approvalEvents: CampaignEvent[];
  approved: boolean;
  completed: CampaignEvent | undefined;
  failure: CampaignEvent | undefined;
  reviewers: Map<string, ReviewerFacts>;
  reviewerIds: Interner;
  statuses: Interner;
  decisions: GrantIndex;
  outcomes: GrantIndex;
  verified: GrantIndex;
  /** Counts the summary as the export counts it; verify-evidence completes it from grants.csv. */
  summary: SummaryBuilder;
  /** Problems of the chain's own content (lines, order, completeness), in chain order. */
  findings: string[];
  /** The chain's hash, recomputed, at each seq a signature names (only those: never the whole chain). */
  signedHashes: Map<number, string>;
  /** The last event's seq and recomputed hash. */
  end: { seq: number; hash: string } | null;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The fields every event has, checked before the event is trusted to have them. */
function asEvent(value: unknown): CampaignEvent | string {
  if (!isRecord(value)) return 'not an event (a JSON object)';
  for (const field of ['campaignId', 'type', 'at', 'prevHash', 'hash'] as const) {
    if (typeof value[field] !== 'string') return `not an event: "${field}" is not a string`;
  }
  if (!Number.isSafeInteger(value.seq)) return 'not an event: "seq" is not an integer';
  if (!isRecord(value.data)) return 'not an event: "data" is not an object';
  return value as unknown as CampaignEvent;
}

/**
 * Reads the chain once, in order: recomputes every hash, counts the summary, indexes decisions
 * and revocation outcomes by grant, and applies the rules that need only the chain: one decision
 * per grant, each by its reviewer while their review was open, the terminal event present, and (in
 * a completed campaign) an outcome for every revoke decision and a verification for every
 * revocation applied.
 */
export async function readChain(
  folder: EvidenceFolder,
  hash: Hash | undefined,
  manifestCampaignId: string | undefined,
  signed: ReadonlySet<number> = new Set(),
): Promise<ChainFacts> {
  const chain = new ChainVerifier();
  const reviewerIds = new Interner();
  const statuses = new Interner();
  const facts: ChainFacts = {
    campaignId: undefined,
    length: 0,
    last: undefined,
    chainHead: null,
    chainFinding: undefined,
    started: undefined,
    snapshot: undefined,
    assignment: undefined,
    guardEvent: undefined,
    approvalEvents: [],
    approved: false,
    completed: undefined,
    failure: undefined,
    reviewers: new Map(),
    reviewerIds,
    statuses,
    decisions: new GrantIndex(DECISION_WIDTH),
    outcomes: new GrantIndex(LINE_WIDTH),
    verified: new GrantIndex(LINE_WIDTH),
    // The campaign, guard and approval are known only once the chain is read: describe() sets them.
    summary: new SummaryBuilder(undefined as never, undefined, undefined, chain),
    findings: [],
    signedHashes: new Map(),
    end: null,
  };
  const findings = facts.findings;
  const reviewer = (login: string): ReviewerFacts => {
    let found = facts.reviewers.get(login);
    if (!found) {
      found = { login, assigned: false, decisions: 0 };
      facts.reviewers.set(login, found);
    }
    return found;
  };
  let lineCount = 0;
  for await (const line of linesOf('events.jsonl', folder.chunks('events.jsonl', hash))) {
    if (line.text.trim() === '') continue;
    lineCount++;
    const seq = facts.length + 1;
    let parsed: unknown;
    try {
      parsed = parseJsonRecord(line.text, `events.jsonl line ${line.line}`);
    } catch (error) {
      findings.push(`events.jsonl line ${line.line}: not JSON (${(error as Error).message})`);
      chain.breakAt(seq, `line ${line.line} is not JSON`);
      facts.length++;
      continue;
    }
    const event = asEvent(parsed);
    if (typeof event === 'string') {
      findings.push(`events.jsonl line ${line.line}: ${event}`);
      chain.breakAt(seq, `line ${line.line} is not an event`);
      facts.length++;
      continue;
    }
    facts.length++;
    facts.summary.addEvent(event);
    facts.campaignId ??= event.campaignId;
    if (event.campaignId !== (manifestCampaignId ?? facts.campaignId)) {
      findings.push(
        `events.jsonl line ${line.line}: event ${event.seq} is of campaign ${event.campaignId}, not ${manifestCampaignId ?? facts.campaignId}`,
      );
    }
    if (facts.completed) {
      findings.push(
        `events.jsonl: event ${event.seq} (${event.type}) follows campaign_completed (event ${facts.completed.seq})`,
      );
    }
    facts.last = event;
    if (signed.has(event.seq)) facts.signedHashes.set(event.seq, eventHash(event));
    const where = [event.seq, line.offset % 2 ** 32, Math.floor(line.offset / 2 ** 32), line.length];
    const data = event.data;
    const grantId = text(data.grantId);
    const needsGrant =
      event.type === 'decision_recorded' ||
      event.type === 'revocation_verified' ||
      OUTCOME_TYPES.has(event.type);
    if (needsGrant && grantId === undefined) {
      findings.push(`events.jsonl line ${line.line}: ${event.type} event ${event.seq} names no grant`);
      continue;
    }
    switch (event.type) {
      case 'campaign_started':
        facts.started ??= event;
        break;
      case 'snapshot_taken':
        facts.snapshot ??= event;
        break;
      case 'reviewers_assigned': {
        facts.assignment ??= event;
        const identities = Array.isArray(data.identities) ? data.identities : [];
        const slackUserOf = new Map<string, string>();
        for (const identity of identities) {
          if (isRecord(identity) && text(identity.login) && text(identity.slackUserId)) {
            slackUserOf.set(identity.login as string, identity.slackUserId as string);
          }
        }
        for (const assigned of Array.isArray(data.reviewers) ? data.reviewers : []) {
          const login = isRecord(assigned) ? text(assigned.login) : undefined;
          if (!login) continue;
          const facts = reviewer(login);
          facts.assigned = true;
          facts.grantCount = typeof assigned.grantCount === 'number' ? assigned.grantCount : undefined;
          facts.slackUserId = slackUserOf.get(login);
          facts.dueAt = text(data.dueAt);
        }
        break;
      }
      case 'review_requested': {
        const login = text(data.reviewer);
        if (!login) break;
        const facts = reviewer(login);
        // A retried request moves the request time and due date: the last one is the task's.
        facts.requested = {
          seq: event.seq,
          slackUserId: data.slackUserId,
          grantCount: data.grantCount,
          dueAt: data.dueAt,
          requestedAt: data.requestedAt,
        };
        break;
      }
      case 'review_completed':
      case 'reviewer_unresponsive': {
        const login = text(data.reviewer);
        if (!login) break;
        const facts = reviewer(login);
        if (facts.closed) {
          findings.push(
            `events.jsonl: event ${event.seq} closes the review of ${login} again (closed by event ${facts.closed.seq})`,
          );
          break;
        }
        facts.closed = {
          seq: event.seq,
          status: event.type === 'review_completed' ? 'completed' : 'unresponsive',
          decided: data.decided,
          completedAt: data.completedAt,
        };
        break;
      }
      case 'revocation_guard_evaluated':
        facts.guardEvent ??= event;
        break;
      case 'revocation_approval_requested':
      case 'revocation_batch_rejected':
      case 'revocation_batch_expired':
        facts.approvalEvents.push(event);
        break;
      case 'revocation_batch_approved':
        facts.approved = true;
        facts.approvalEvents.push(event);
        break;
      case 'campaign_completed':
        facts.completed ??= event;
        break;
      case 'campaign_failed':
        facts.failure = event;
        break;
      case 'campaign_resumed':
        facts.failure = undefined;
        break;
      case 'decision_recorded': {
        const login = text(data.reviewer) ?? '';
        const facts_ = reviewer(login);
        facts_.decisions++;
        decisionRules(facts, event, facts_, grantId as string, findings);
        facts.decisions.add(grantId as string, [
          event.seq,
          ...fingerprint([data.decision, data.reviewer, data.decidedBySlackUserId, data.justification ?? '']),
          data.decision === 'revoke' ? 1 : 0,
          reviewerIds.of(login),
          data.recovered === true ? 1 : 0,
        ]);
        break;
      }
      case 'revocation_verified':
        facts.verified.add(grantId as string, [...where, 0, statuses.of(String(data.status))]);
        break;
      default:
        if (OUTCOME_TYPES.has(event.type)) {
          const changes = Array.isArray(data.policyChanges) ? data.policyChanges.length : 0;
          facts.outcomes.add(grantId as string, [...where, changes, statuses.of(String(data.status))]);
        }
    }
  }
  const result = chain.result();
  if (result.ok) facts.chainHead = result.head;
  else facts.chainFinding = `events.jsonl: chain broken at seq ${result.seq}: ${result.reason}`;
  if (facts.last) facts.end = { seq: facts.last.seq, hash: eventHash(facts.last) };
  facts.decisions.seal();
  facts.outcomes.seal();
  facts.verified.seal();
  if (lineCount === 0) findings.push('events.jsonl: no events');
  else if (!facts.completed && !facts.failure && facts.last) {
    findings.push(
      `events.jsonl: the chain ends at event ${facts.last.seq} (${facts.last.type}) with neither campaign_completed nor campaign_failed: the campaign is unfinished or its last events are missing`,
    );
  }
  completenessRules(facts, findings);
  return facts;
}

/** A decision by the grant's reviewer (as the chain assigned it), as their Slack user, while their review was open. */
function decisionRules(
  facts: ChainFacts,
  event: CampaignEvent,
  reviewer: ReviewerFacts,
  grantId: string,
  findings: string[],
): void {
  const { data } = event;
  if (facts.assignment && !reviewer.assigned) {
    findings.push(
      `events.jsonl: event ${event.seq} records a decision on grant ${grantId} by ${reviewer.login || 'nobody'}, who was not assigned a review (event ${facts.assignment.seq})`,
    );
  }
  const slackUserId = text(reviewer.requested?.slackUserId) ?? reviewer.slackUserId;
  if (slackUserId !== undefined && data.decidedBySlackUserId !== slackUserId) {
    findings.push(
      `events.jsonl: event ${event.seq} records a decision on grant ${grantId} by Slack user ${String(data.decidedBySlackUserId)}, not ${reviewer.login}'s (${slackUserId})`,
    );
  }
  const closed = reviewer.closed;
  if (!closed) return;
  // Finalize appends a decision whose event was lost (marked recovered) after the review closed;
  // the close already counted it, so it may come later only while the count covers it.
  const covered =
    data.recovered === true && typeof closed.decided === 'number' && reviewer.decisions <= closed.decided;
  // A click that found the task open may write its decision a moment after the window closed
  // (record-decision.ts reads the task, then puts the decision): its time is the click's, before
  // the close. A decision timed after the close is refused by the endpoint, so one here is forged.
  const clickedWhileOpen =
    !covered &&
    closed.status === 'unresponsive' &&
    typeof closed.completedAt === 'string' &&
    typeof event.at === 'string' &&
    Date.parse(event.at) <= Date.parse(closed.completedAt);
  if (clickedWhileOpen) {
    reviewer.lateDecisions = (reviewer.lateDecisions ?? 0) + 1;
    return;
  }
  if (!covered) {
    findings.push(
      `events.jsonl: event ${event.seq} records a decision on grant ${grantId} by ${reviewer.login} after their review closed (event ${closed.seq}, ${closed.status})`,
    );
  }
}

function completenessRules(facts: ChainFacts, findings: string[]): void {
  const { decisions, outcomes, verified, statuses } = facts;
  for (const { grantId, entries } of decisions.duplicates()) {
    const seqs = entries.map((entry) => decisions.payloadOf(entry)[DECISION.seq]);
    findings.push(
      `events.jsonl: grant ${grantId} has ${entries.length} decisions (events ${seqs.join(', ')}); a grant is decided once`,
    );
  }
  for (const { grantId, entries } of outcomes.duplicates()) {
    const seqs = entries.map((entry) => outcomes.payloadOf(entry)[LINE.seq]);
    findings.push(
      `events.jsonl: grant ${grantId} has ${entries.length} revocation outcomes (events ${seqs.join(', ')})`,
    );
  }
  // Each review closed with the decisions counted then; the chain holds exactly those once the
  // campaign is complete (Finalize appends any whose event was lost), never more.
  for (const reviewer of facts.reviewers.values()) {
    const decided = reviewer.closed?.decided;
    if (typeof decided !== 'number') continue;
    const complete = facts.completed !== undefined;
    const counted = reviewer.decisions - (reviewer.lateDecisions ?? 0);
    if (counted > decided || (complete && counted < decided)) {
      findings.push(
        `events.jsonl: the review of ${reviewer.login} closed with ${decided} decisions (event ${reviewer.closed?.seq}), the chain records ${reviewer.decisions}`,
      );
    }
  }
  for (const { entry, grantId } of bySeq(outcomes, [...outcomes.latest()])) {
    const decision = decisions.find(grantId);
    if (decision === -1 || decisions.payloadOf(decision)[DECISION.revoke] !== 1) {
      findings.push(
        `events.jsonl: event ${outcomes.payloadOf(entry)[LINE.seq]} records a revocation of grant ${grantId}, which no decision revoked`,
      );
    }
  }
  for (const { entry, grantId } of bySeq(verified, [...verified.latest()])) {
    if (outcomes.find(grantId) === -1) {
      findings.push(
        `events.jsonl: event ${verified.payloadOf(entry)[LINE.seq]} verifies a revocation of grant ${grantId} the chain does not record`,
      );
    }
  }
  if (!facts.completed) return;
  const revoked = [...decisions.latest()].filter(
    ({ entry }) => decisions.payloadOf(entry)[DECISION.revoke] === 1,
  );
  for (const { entry, grantId } of bySeq(decisions, revoked)) {
    const outcome = outcomes.find(grantId);
    if (outcome === -1) {
      findings.push(
        `events.jsonl: grant ${grantId} was decided revoke (event ${decisions.payloadOf(entry)[DECISION.seq]}) but the chain records no revocation outcome for it`,
      );
      continue;
    }
    // Applied (removed, already absent, a remediation asked for): the source was read again.
    const status = statuses.at(outcomes.payloadOf(outcome)[LINE.status]);
    const applied = status !== 'failed' && status !== 'rejected' && status !== 'refused_protected';
    if (applied && verified.find(grantId) === -1) {
      findings.push(
        `events.jsonl: the revocation of grant ${grantId} (event ${outcomes.payloadOf(outcome)[LINE.seq]}, ${status}) has no verification in the chain`,
      );
    }
  }
}

/** Index entries in chain order (as the findings have always been listed). */
export function bySeq<T extends { entry: number }>(index: GrantIndex, entries: T[]): T[] {
  return entries.sort(
    (a, b) => (index.payloadOf(a.entry)[0] as number) - (index.payloadOf(b.entry)[0] as number),
  );
}
