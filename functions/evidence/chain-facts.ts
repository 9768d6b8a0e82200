import type { Hash } from 'node:crypto';
import { createHash } from 'node:crypto';
import { parseJsonRecord } from '../core/records';
import { type CampaignEvent, ChainVerifier, canonicalJson, eventHash } from '../store/events';
import type { EvidenceFolder } from './folder';
import { linesOf } from './folder';
import { POLICY_EXCEPTION } from './format';
import { GrantIndex } from './grant-index';
import { SummaryBuilder } from './summary';

export const OUTCOME_TYPES = new Set([
  'revocation_applied',
  'revocation_failed',
  'revocation_rejected',
  'revocation_refused',
]);

/**
 * Decision payload: [seq, fingerprint×4, kind, reviewer, recovered, policy, downgrade target].
 * Outcome / verification payload: [seq, offset lo, offset hi, length, policy changes, status].
 * Hand-over payload (grant_reassigned): [seq, to, task reviewer, by].
 * Policy payload (window_policy_applied): [seq, policy, reviewer].
 */
export const DECISION_WIDTH = 10;
export const LINE_WIDTH = 6;
export const HANDOVER_WIDTH = 4;
export const POLICY_WIDTH = 3;
export const DECISION = {
  seq: 0,
  kind: 5,
  reviewer: 6,
  recovered: 7,
  policy: 8,
  downgradeTo: 9,
} as const;
export const LINE = { seq: 0, changes: 4, status: 5 } as const;
export const HANDOVER = { seq: 0, to: 1, taskReviewer: 2, by: 3 } as const;
export const POLICY = { seq: 0, policy: 1, reviewer: 2 } as const;

/** A decision's kind in the payload: what it asks the revocation step to do. */
export const DECISION_KIND = { keep: 0, revoke: 1, downgrade: 2, other: 3 } as const;
export const decisionKind = (decision: unknown): number =>
  decision === 'keep' || decision === 'revoke' || decision === 'downgrade'
    ? DECISION_KIND[decision]
    : DECISION_KIND.other;
/** Revoke and downgrade decisions are carried out at the source, then read back. */
export const isApplied = (kind: number | undefined): boolean =>
  kind === DECISION_KIND.revoke || kind === DECISION_KIND.downgrade;

/** 128 bits of SHA-256 over what a decisions.csv row and its event must agree on. */
export function fingerprint(values: readonly unknown[]): number[] {
  const digest = createHash('sha256').update(canonicalJson(values)).digest();
  return [0, 1, 2, 3].map((word) => digest.readUInt32BE(word * 4));
}

/**
 * What a decisions.csv row shows of a decision, as its event records it: the decision, the task's
 * reviewer, the clicker's Slack id, the justification, who decided (the task's reviewer or the
 * person the grant was handed to; nobody for the end-of-window policy), the downgrade's target,
 * whether "Keep all remaining" took it, and whether it is the policy's exception.
 */
export function decisionCells(data: Record<string, unknown>): string[] {
  const policy = data.channel === 'policy';
  const decidedBy = policy ? '' : (text(data.decidedBy) ?? text(data.reviewer) ?? '');
  return [
    String(data.decision ?? ''),
    String(data.reviewer ?? ''),
    String(data.decidedBySlackUserId ?? ''),
    String(data.justification ?? ''),
    decidedBy,
    String(data.downgradeTo ?? ''),
    data.bulk === true ? 'true' : '',
    policy ? POLICY_EXCEPTION : '',
  ];
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
  /** decision_recorded events naming this reviewer, clicked by a person (the policy's are not counted). */
  decisions: number;
  /** reminder_sent events for this reviewer's task. */
  reminders?: number;
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
  /** The campaign_cancelled event: after it nothing is decided, handed over or applied. */
  cancelled: CampaignEvent | undefined;
  reviewers: Map<string, ReviewerFacts>;
  /** Login → Slack user id, as reviewers_assigned found each person involved. */
  identities: Map<string, string>;
  reviewerIds: Interner;
  statuses: Interner;
  decisions: GrantIndex;
  outcomes: GrantIndex;
  verified: GrantIndex;
  /** grant_reassigned events: who each grant was handed to (escalation or delegation). */
  handovers: GrantIndex;
  /** window_policy_applied events: the end-of-window policy's keep or revoke of an undecided grant. */
  policies: GrantIndex;
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
    cancelled: undefined,
    reviewers: new Map(),
    identities: new Map(),
    reviewerIds,
    statuses,
    decisions: new GrantIndex(DECISION_WIDTH),
    outcomes: new GrantIndex(LINE_WIDTH),
    verified: new GrantIndex(LINE_WIDTH),
    handovers: new GrantIndex(HANDOVER_WIDTH),
    policies: new GrantIndex(POLICY_WIDTH),
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
  /** Who may decide each grant that was handed over, and as which Slack user (the rest: the task's reviewer). */
  const deciders = new Map<string, Decider>();
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
      event.type === 'grant_reassigned' ||
      event.type === 'window_policy_applied' ||
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
            if (facts.assignment === event) {
              facts.identities.set(identity.login as string, identity.slackUserId as string);
            }
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
      case 'campaign_cancelled':
        if (facts.cancelled) {
          findings.push(
            `events.jsonl: event ${event.seq} cancels the campaign again (cancelled by event ${facts.cancelled.seq})`,
          );
        } else facts.cancelled = event;
        break;
      case 'reminder_sent': {
        const login = text(data.reviewer) ?? '';
        const facts_ = reviewer(login);
        facts_.reminders = (facts_.reminders ?? 0) + 1;
        reminderRules(facts, event, facts_, findings);
        break;
      }
      case 'grant_reassigned':
        handoverRules(facts, event, grantId as string, deciders, reviewer, findings);
        break;
      case 'window_policy_applied': {
        const login = text(data.reviewer) ?? '';
        policyRules(facts, event, reviewer(login), grantId as string, findings);
        facts.policies.add(grantId as string, [
          event.seq,
          data.policy === 'revoke' ? 1 : 0,
          reviewerIds.of(login),
        ]);
        break;
      }
      case 'campaign_failed':
        facts.failure = event;
        break;
      case 'campaign_resumed':
        facts.failure = undefined;
        break;
      case 'decision_recorded': {
        const login = text(data.reviewer) ?? '';
        const facts_ = reviewer(login);
        const policy = data.channel === 'policy';
        if (policy) policyDecisionRules(event, facts_, grantId as string, findings);
        else {
          facts_.decisions++;
          decisionRules(facts, event, facts_, grantId as string, deciders.get(grantId as string), findings);
        }
        shapeRules(event, grantId as string, findings);
        facts.decisions.add(grantId as string, [
          event.seq,
          ...fingerprint(decisionCells(data)),
          decisionKind(data.decision),
          reviewerIds.of(login),
          data.recovered === true ? 1 : 0,
          policy ? 1 : 0,
          reviewerIds.of(text(data.downgradeTo) ?? ''),
        ]);
        break;
      }
      case 'revocation_verified':
        afterCancel(facts, event, grantId as string, findings);
        facts.verified.add(grantId as string, [...where, 0, statuses.of(String(data.status))]);
        break;
      default:
        if (OUTCOME_TYPES.has(event.type)) {
          afterCancel(facts, event, grantId as string, findings);
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
  facts.handovers.seal();
  facts.policies.seal();
  if (lineCount === 0) findings.push('events.jsonl: no events');
  else if (!facts.completed && !facts.failure && facts.last) {
    findings.push(
      `events.jsonl: the chain ends at event ${facts.last.seq} (${facts.last.type}) with neither campaign_completed nor campaign_failed: the campaign is unfinished or its last events are missing`,
    );
  }
  completenessRules(facts, findings);
  return facts;
}

/** Who may decide a grant that was handed over: the person it was handed to, and the event that did it. */
interface Decider {
  login: string;
  slackUserId: string | null;
  seq: number;
}

/** The Slack user a reviewer's task was sent to (the request's; the assignment's before it). */
function slackUserOf(reviewer: ReviewerFacts | undefined): string | undefined {
  return text(reviewer?.requested?.slackUserId) ?? reviewer?.slackUserId;
}

/**
 * A person's decision: by the grant's decider at that moment (the task's reviewer, or whoever the
 * latest grant_reassigned handed it to), as that person's Slack user, while the task was open and
 * the campaign not cancelled.
 */
function decisionRules(
  facts: ChainFacts,
  event: CampaignEvent,
  reviewer: ReviewerFacts,
  grantId: string,
  handedTo: Decider | undefined,
  findings: string[],
): void {
  const { data } = event;
  if (facts.assignment && !reviewer.assigned) {
    findings.push(
      `events.jsonl: event ${event.seq} records a decision on grant ${grantId} by ${reviewer.login || 'nobody'}, who was not assigned a review (event ${facts.assignment.seq})`,
    );
  }
  const decidedBy = text(data.decidedBy);
  if (handedTo && handedTo.login !== reviewer.login) {
    if (decidedBy !== handedTo.login) {
      findings.push(
        `events.jsonl: event ${event.seq} records a decision on grant ${grantId} by ${decidedBy ?? reviewer.login}, but event ${handedTo.seq} handed the grant to ${handedTo.login}: only they may decide it`,
      );
    }
    if (data.decidedBySlackUserId !== handedTo.slackUserId) {
      findings.push(
        `events.jsonl: event ${event.seq} records a decision on grant ${grantId} by Slack user ${String(data.decidedBySlackUserId)}, not ${handedTo.login}'s (${handedTo.slackUserId ?? 'none: not in Slack'}), to whom event ${handedTo.seq} handed it`,
      );
    }
  } else {
    if (decidedBy !== undefined && decidedBy !== reviewer.login) {
      findings.push(
        `events.jsonl: event ${event.seq} records a decision on grant ${grantId} by ${decidedBy}, to whom no grant_reassigned handed it (its decider is ${reviewer.login})`,
      );
    }
    const slackUserId = slackUserOf(reviewer);
    if (slackUserId !== undefined && data.decidedBySlackUserId !== slackUserId) {
      findings.push(
        `events.jsonl: event ${event.seq} records a decision on grant ${grantId} by Slack user ${String(data.decidedBySlackUserId)}, not ${reviewer.login}'s (${slackUserId})`,
      );
    }
  }
  const cancelled = facts.cancelled;
  // A click that read the task open before the cancel may land just after it (as after a close).
  if (cancelled && !(Date.parse(event.at) <= Date.parse(cancelled.at))) {
    findings.push(
      `events.jsonl: event ${event.seq} records a decision on grant ${grantId} after the campaign was cancelled (event ${cancelled.seq})`,
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

/** The end-of-window policy decides only once the reviewer's window closed with them unresponsive. */
function policyDecisionRules(
  event: CampaignEvent,
  reviewer: ReviewerFacts,
  grantId: string,
  findings: string[],
): void {
  const { data } = event;
  if (reviewer.closed?.status !== 'unresponsive') {
    findings.push(
      `events.jsonl: event ${event.seq} records an end-of-window policy decision on grant ${grantId} before ${reviewer.login || 'its reviewer'}'s review window closed unresponsive`,
    );
  }
  if (data.decidedBySlackUserId !== '' || data.decidedBy !== undefined) {
    findings.push(
      `events.jsonl: event ${event.seq} records an end-of-window policy decision on grant ${grantId} that names a person (${String(data.decidedBy ?? data.decidedBySlackUserId)}): the policy is nobody's click`,
    );
  }
  if (data.decision !== 'keep' && data.decision !== 'revoke') {
    findings.push(
      `events.jsonl: event ${event.seq} records an end-of-window policy decision on grant ${grantId} of ${JSON.stringify(data.decision)}: the policy keeps or revokes`,
    );
  }
}

/** What a decision's fields may be: a known decision, a target only for a downgrade, bulk only for keep. */
function shapeRules(event: CampaignEvent, grantId: string, findings: string[]): void {
  const { data } = event;
  const where = `events.jsonl: event ${event.seq} records a decision on grant ${grantId}`;
  if (data.decision !== 'keep' && data.decision !== 'revoke' && data.decision !== 'downgrade') {
    findings.push(`${where} of ${JSON.stringify(data.decision)}, which is not keep, revoke or downgrade`);
  }
  const target = data.downgradeTo;
  if (data.decision === 'downgrade' && (typeof target !== 'string' || target === '')) {
    findings.push(`${where}: a downgrade that names no entitlement to lower it to`);
  }
  if (data.decision !== 'downgrade' && target !== undefined && target !== null) {
    findings.push(`${where}: ${String(data.decision)} with a downgrade target (${String(target)})`);
  }
  if (data.bulk !== undefined && !(data.bulk === true && data.decision === 'keep')) {
    findings.push(`${where}: marked bulk, which only "Keep all remaining" keeps are`);
  }
}

/** A reminder goes to a reviewer whose task was sent and is still open, in a campaign not cancelled. */
function reminderRules(
  facts: ChainFacts,
  event: CampaignEvent,
  reviewer: ReviewerFacts,
  findings: string[],
): void {
  const who = reviewer.login || 'nobody';
  if (facts.assignment && !reviewer.assigned) {
    findings.push(`events.jsonl: event ${event.seq} reminds ${who}, who was not assigned a review`);
  } else if (!reviewer.requested) {
    findings.push(`events.jsonl: event ${event.seq} reminds ${who} before their review was requested`);
  } else if (reviewer.closed) {
    findings.push(
      `events.jsonl: event ${event.seq} reminds ${who} after their review closed (event ${reviewer.closed.seq})`,
    );
  }
  if (facts.cancelled) {
    findings.push(
      `events.jsonl: event ${event.seq} reminds ${who} after the campaign was cancelled (event ${facts.cancelled.seq})`,
    );
  }
}

/**
 * A hand-over moves an undecided grant from its decider to another person while the task is open:
 * `from` is the decider just before, a delegation is clicked by that decider, `to` is someone else
 * (not the principal or holder: checked against grants.csv), reached at the Slack user the
 * assignment found for them. Whether the grant was still undecided is checked once the chain is read.
 */
function handoverRules(
  facts: ChainFacts,
  event: CampaignEvent,
  grantId: string,
  deciders: Map<string, Decider>,
  reviewerOf: (login: string) => ReviewerFacts,
  findings: string[],
): void {
  const { data } = event;
  const where = `events.jsonl: event ${event.seq} hands grant ${grantId} over`;
  const taskReviewer = text(data.taskReviewer) ?? '';
  const task = reviewerOf(taskReviewer);
  const to = text(data.to) ?? '';
  const toSlackUserId = text(data.toSlackUserId) ?? null;
  const previous = deciders.get(grantId);
  const current = previous ?? { login: taskReviewer, slackUserId: slackUserOf(task) ?? null, seq: 0 };
  if (facts.assignment && !task.assigned) {
    findings.push(`${where} on the task of ${taskReviewer || 'nobody'}, who was not assigned a review`);
  }
  if (data.from !== current.login) {
    findings.push(
      `${where} from ${String(data.from)}, but its decider then was ${current.login || 'nobody'}${previous ? ` (event ${previous.seq})` : ''}`,
    );
  }
  if (data.by === 'delegation') {
    if (data.actorSlackUserId !== current.slackUserId) {
      findings.push(
        `${where} by delegation from Slack user ${String(data.actorSlackUserId)}, not its decider ${current.login}'s (${current.slackUserId ?? 'none'})`,
      );
    }
  } else if (data.by !== 'escalation') {
    findings.push(`${where} by ${JSON.stringify(data.by)}, neither escalation nor delegation`);
  } else if (!task.requested) {
    findings.push(`${where} by escalation before ${taskReviewer}'s review was requested`);
  }
  if (to === '' || to === current.login) {
    findings.push(`${where} to ${to || 'nobody'}, who already decides it`);
  }
  const known = facts.identities.get(to);
  if (known !== undefined && toSlackUserId !== known) {
    findings.push(
      `${where} to ${to} as Slack user ${toSlackUserId ?? 'none'}, but the reviewers_assigned event found ${to} as ${known}`,
    );
  }
  if (task.closed) {
    findings.push(`${where} after ${taskReviewer}'s review closed (event ${task.closed.seq})`);
  }
  if (facts.cancelled) {
    findings.push(`${where} after the campaign was cancelled (event ${facts.cancelled.seq})`);
  }
  deciders.set(grantId, { login: to, slackUserId: toSlackUserId, seq: event.seq });
  facts.handovers.add(grantId, [
    event.seq,
    facts.reviewerIds.of(to),
    facts.reviewerIds.of(taskReviewer),
    data.by === 'delegation' ? 1 : 0,
  ]);
}

/** The end-of-window policy applies to a reviewer's grants only once their window closed unresponsive. */
function policyRules(
  facts: ChainFacts,
  event: CampaignEvent,
  reviewer: ReviewerFacts,
  grantId: string,
  findings: string[],
): void {
  const { data } = event;
  const where = `events.jsonl: event ${event.seq} applies the end-of-window policy to grant ${grantId}`;
  if (reviewer.closed?.status !== 'unresponsive') {
    findings.push(
      `${where} before ${reviewer.login || 'its reviewer'}'s review window closed unresponsive${reviewer.closed ? ` (event ${reviewer.closed.seq} closed it ${reviewer.closed.status})` : ''}`,
    );
  }
  if (data.policy !== 'keep' && data.policy !== 'revoke') {
    findings.push(`${where}: policy ${JSON.stringify(data.policy)} (only keep and revoke are recorded)`);
  }
  if (facts.cancelled) {
    findings.push(`${where} after the campaign was cancelled (event ${facts.cancelled.seq})`);
  }
}

/** Nothing is carried out, or read back, at the source once the campaign is cancelled. */
function afterCancel(facts: ChainFacts, event: CampaignEvent, grantId: string, findings: string[]): void {
  const { cancelled } = facts;
  if (!cancelled) return;
  if (event.type === 'revocation_applied' || event.type === 'revocation_failed') {
    findings.push(
      `events.jsonl: event ${event.seq} carries out the revocation of grant ${grantId} after the campaign was cancelled (event ${cancelled.seq})`,
    );
  } else if (event.type === 'revocation_verified') {
    findings.push(
      `events.jsonl: event ${event.seq} verifies a revocation of grant ${grantId} after the campaign was cancelled (event ${cancelled.seq})`,
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
  handoverAndPolicyRules(facts, findings);
  for (const { entry, grantId } of bySeq(outcomes, [...outcomes.latest()])) {
    const decision = decisions.find(grantId);
    if (decision === -1 || !isApplied(decisions.payloadOf(decision)[DECISION.kind])) {
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
  const status = facts.completed.data.status;
  if (facts.cancelled && status !== 'cancelled') {
    findings.push(
      `events.jsonl: campaign_completed (event ${facts.completed.seq}) does not say cancelled, but event ${facts.cancelled.seq} cancelled the campaign`,
    );
  } else if (!facts.cancelled && status === 'cancelled') {
    findings.push(
      `events.jsonl: campaign_completed (event ${facts.completed.seq}) says cancelled, but no campaign_cancelled event cancelled the campaign`,
    );
  }
  // A cancelled campaign carries out nothing: its revoke decisions stay decisions.
  if (facts.cancelled) return;
  const revoked = [...decisions.latest()].filter(({ entry }) =>
    isApplied(decisions.payloadOf(entry)[DECISION.kind]),
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

/**
 * Rules that need the whole chain: a grant is handed over only while undecided; the end-of-window
 * policy's keep or revoke is the grant's one decision, recorded as the policy's, and every policy
 * decision has its window_policy_applied.
 */
function handoverAndPolicyRules(facts: ChainFacts, findings: string[]): void {
  const { decisions, handovers, policies } = facts;
  for (const { entry, grantId } of bySeq(handovers, [...handovers.latest()])) {
    const decision = decisions.entriesOf(grantId)[0];
    if (decision === undefined) continue;
    const handedAt = handovers.payloadOf(entry)[HANDOVER.seq] as number;
    const decidedAt = decisions.payloadOf(decision)[DECISION.seq] as number;
    if (decidedAt < handedAt) {
      findings.push(
        `events.jsonl: event ${handedAt} hands grant ${grantId} over after its decision (event ${decidedAt})`,
      );
    }
  }
  for (const { grantId, entries } of policies.duplicates()) {
    const seqs = entries.map((entry) => policies.payloadOf(entry)[POLICY.seq]);
    findings.push(
      `events.jsonl: the end-of-window policy is applied to grant ${grantId} ${entries.length} times (events ${seqs.join(', ')})`,
    );
  }
  for (const { entry, grantId } of bySeq(policies, [...policies.latest()])) {
    const payload = policies.payloadOf(entry);
    const seq = payload[POLICY.seq] as number;
    const entries = decisions.entriesOf(grantId);
    const byPerson = entries.find((d) => decisions.payloadOf(d)[DECISION.policy] !== 1);
    if (byPerson !== undefined) {
      findings.push(
        `events.jsonl: event ${seq} applies the end-of-window policy to grant ${grantId}, which event ${decisions.payloadOf(byPerson)[DECISION.seq]} records a person's decision on: the policy is only for undecided grants`,
      );
      continue;
    }
    const own = entries[0];
    if (own === undefined) {
      if (facts.completed) {
        findings.push(
          `events.jsonl: event ${seq} applies the end-of-window policy to grant ${grantId}, but the chain records no decision for it`,
        );
      }
      continue;
    }
    const kind = decisions.payloadOf(own)[DECISION.kind];
    const policy = payload[POLICY.policy] === 1 ? DECISION_KIND.revoke : DECISION_KIND.keep;
    if (kind !== policy) {
      findings.push(
        `events.jsonl: event ${decisions.payloadOf(own)[DECISION.seq]} records a decision on grant ${grantId} other than the end-of-window policy event ${seq} applied`,
      );
    }
  }
  for (const { entry, grantId } of bySeq(decisions, [...decisions.latest()])) {
    const payload = decisions.payloadOf(entry);
    if (payload[DECISION.policy] === 1 && policies.find(grantId) === -1) {
      findings.push(
        `events.jsonl: event ${payload[DECISION.seq]} records an end-of-window policy decision on grant ${grantId}, but no window_policy_applied event applied the policy to it`,
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
