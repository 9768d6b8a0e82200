import type { ApprovalRequest, StoredGuardItem, StoredGuardSummary } from '../store/approvals';
import type { Campaign } from '../store/campaigns';
import type { Decision } from '../store/decisions';
import { type CampaignEvent, ChainVerifier } from '../store/events';
import type { StoredGrant } from '../store/grants';
import type { Store } from '../store/index';
import type { Revocation, Verification } from '../store/outcomes';
import type { ReviewTask } from '../store/tasks';
import { summarizeSource } from './export';
import { EVIDENCE_FORMAT } from './format';
import { storeEvidenceSource } from './source';

export interface CampaignSummary {
  campaignId: string;
  organization: string;
  status: string;
  trigger: string;
  requestedBy: string;
  startedAt: string;
  completedAt: string | null;
  grants: number;
  /** Grants by kind (organization_membership, deploy_key …), for the auditor's view of scope. */
  grantsByKind: Record<string, number>;
  /** Grants carrying each risk flag. */
  flagged: Record<string, number>;
  /** What each connector's snapshot cost at its source. */
  sourceUsage: Campaign['sourceUsage'] | null;
  reviewable: number;
  derived: number;
  reviewersAsked: number;
  reviewersCompleted: number;
  reviewersUnresponsive: number;
  decided: number;
  kept: number;
  revoked: number;
  undecided: number;
  unroutable: number;
  revocationsApplied: number;
  revocationsFailed: number;
  /** Revocations the revocation guard held for the security team (applied only if approved). */
  revocationsHeld: number;
  /** Held revocations that were not approved (rejected, or no answer within the window). */
  revocationsRejected: number;
  /** Revocations of the tool's own identity, never applied. */
  revocationsRefused: number;
  /**
   * The revocation guard: its limits and counts, and the security team's answer on what it held
   * (null for a campaign from before the guard, or one that never reached it).
   */
  revocationGuard: {
    limits: StoredGuardSummary['limits'];
    revocations: number;
    reviewable: number;
    percentAllowance: number;
    overPercentLimit: boolean;
    counts: StoredGuardSummary['counts'];
    ownIdentities: StoredGuardSummary['ownIdentities'];
    approval: {
      status: ApprovalRequest['status'];
      decidedBy: string | null;
      decidedBySlackUserId: string | null;
      decidedAt: string | null;
      reason: string | null;
    } | null;
  } | null;
  /** Revoke decisions no API could carry out: each names what a person must do. */
  remediationsRequired: number;
  /** Of those, how many the last check still found (the remediation is not done yet). */
  remediationsOpen: number;
  verifiedAbsent: number;
  stillPresent: number;
  events: number;
  chainHead: string | null;
  chainIntact: boolean;
  /**
   * The evidence format (format.ts EVIDENCE_FORMAT) this summary is of. Absent in format 1, which
   * has none of the fields below.
   */
  format?: number;
  /** What the campaign reviewed (scope terms, [] = everything) and why, as campaign_started records it. */
  scope?: string[];
  reason?: string | null;
  /** Who cancelled the campaign, when and why (campaign_cancelled); null when it was not. */
  cancelled?: CancelSummary | null;
  /** Tasks closed because the campaign was cancelled. */
  reviewersCancelled?: number;
  /** Decisions to lower a grant instead of removing it (counted in decided, not in kept or revoked). */
  downgraded?: number;
  /** Keep decisions taken by "Keep all remaining". */
  bulkKept?: number;
  /** Reminders sent to reviewers (reminder_sent), by Slack or email. */
  remindersSent?: number;
  /** Grants handed to another person because their reviewer did not answer (grant_reassigned). */
  escalated?: number;
  /** Grants a reviewer (or a delegate) handed to another person (grant_reassigned). */
  delegated?: number;
  /**
   * Undecided grants the end-of-window policy kept or revoked when the window closed
   * (window_policy_applied): exceptions, not reviews. Counted in kept / revoked too.
   */
  policyKept?: number;
  policyRevoked?: number;
  /** Emails sent, by purpose (email_sent; never addresses). */
  emailsSent?: Record<string, number>;
  /** Only on a failed campaign. */
  outcome?: 'failed';
  /** Only on a failed campaign: where and why it failed. */
  failure?: FailureSummary;
}

/** A cancelled campaign's campaign_cancelled event, as summary.json and the report show it. */
export interface CancelSummary {
  /** The Slack user who cancelled it. */
  by: string;
  byName: string | null;
  reason: string | null;
  /** Where the campaign was when it was cancelled (in_review, awaiting approval …). */
  phase: string | null;
  at: string;
  eventSeq: number;
}

/** The fields format 2 added: a format 1 folder's summary.json has none of them. */
export const FORMAT_2_SUMMARY_FIELDS = [
  'format',
  'scope',
  'reason',
  'cancelled',
  'reviewersCancelled',
  'downgraded',
  'bulkKept',
  'remindersSent',
  'escalated',
  'delegated',
  'policyKept',
  'policyRevoked',
  'emailsSent',
] as const satisfies ReadonlyArray<keyof CampaignSummary>;

export interface CampaignRecords {
  campaign: Campaign;
  grants: StoredGrant[];
  tasks: ReviewTask[];
  decisions: Decision[];
  revocations: Revocation[];
  verifications: Verification[];
  events: CampaignEvent[];
  guard: StoredGuardSummary | undefined;
  guardItems: StoredGuardItem[];
  approval: ApprovalRequest | undefined;
}

/** Everything the table holds about a campaign, read once for a summary or an evidence export. */
export async function loadCampaignRecords(store: Store, campaignId: string): Promise<CampaignRecords> {
  const [
    campaign,
    grants,
    tasks,
    decisions,
    revocations,
    verifications,
    events,
    guard,
    guardItems,
    approval,
  ] = await Promise.all([
    store.campaigns.get(campaignId),
    store.grants.list(campaignId),
    store.tasks.list(campaignId),
    store.decisions.list(campaignId),
    store.outcomes.listRevocations(campaignId),
    store.outcomes.listVerifications(campaignId),
    store.events.list(campaignId),
    store.approvals.getGuardSummary(campaignId),
    store.approvals.listGuardItems(campaignId),
    store.approvals.get(campaignId),
  ]);
  return {
    campaign,
    grants,
    tasks,
    decisions,
    revocations,
    verifications,
    events,
    guard,
    guardItems,
    approval,
  };
}

/** Everything here is counted from the table, so the summary can be rebuilt at any time. */
export async function summarizeCampaign(store: Store, campaignId: string): Promise<CampaignSummary> {
  return summarizeSource(storeEvidenceSource(store, campaignId));
}

/** How a failed campaign failed, from its last `campaign_failed` event (or the campaign item). */
export interface FailureSummary {
  /** The state whose error was caught (RequestReview, ApplyRevocations …). */
  state: string;
  /** When a reviewer's state failed: whose. */
  reviewer: string | null;
  error: string;
  cause: string;
  /** authentication / permission / throttled / timeout / unavailable / internal. */
  classification: string;
  /** The campaign's status when it failed. */
  statusBefore: string | null;
  /** The execution's redrive count when it failed (0: the first run). */
  attempt: number | null;
  at: string | null;
  /** The `campaign_failed` event in the chain (null when only the campaign item records it). */
  eventSeq: number | null;
  /** Revocations whose attempt started and never finished: left pending, nothing invented. */
  revocationsPending: number;
}

/**
 * Counts a campaign's summary from its records one at a time, so the export can summarise a
 * campaign of millions of grants while it streams them. It keeps counters and one small tally per
 * grant kind and flag; nothing per grant.
 */
export class SummaryBuilder {
  private grants = 0;
  private readonly grantsByKind = new Map<string, number>();
  private readonly flagged = new Map<string, number>();
  private reviewable = 0;
  private reviewableRouted = 0;
  private tasks = 0;
  private tasksCompleted = 0;
  private tasksUnresponsive = 0;
  private tasksCancelled = 0;
  private decided = 0;
  private kept = 0;
  private revoked = 0;
  private downgraded = 0;
  private bulkKept = 0;
  private reminders = 0;
  private escalated = 0;
  private delegated = 0;
  private policyKept = 0;
  private policyRevoked = 0;
  private readonly emails = new Map<string, number>();
  private started: CampaignEvent | undefined;
  private cancelled: CampaignEvent | undefined;
  private readonly revocationStatuses = new Map<string, number>();
  private remediationsOpen = 0;
  private verifiedAbsent = 0;
  private stillPresent = 0;
  private events = 0;
  /** The last campaign_failed not followed by a campaign_resumed. */
  private failure: CampaignEvent | undefined;

  constructor(
    private campaign: Campaign,
    private guard: StoredGuardSummary | undefined,
    private approval: ApprovalRequest | undefined,
    /** verify-evidence passes the verifier it already runs, so each event is hashed once. */
    private readonly chain: ChainVerifier = new ChainVerifier(),
  ) {}

  /**
   * verify-evidence learns what the campaign item, guard and approval said only from the chain
   * it is counting: it sets them once it has read it, before build().
   */
  describe(
    campaign: Campaign,
    guard: StoredGuardSummary | undefined,
    approval: ApprovalRequest | undefined,
  ): void {
    this.campaign = campaign;
    this.guard = guard;
    this.approval = approval;
  }

  addGrant(grant: StoredGrant): void {
    this.grants++;
    increment(this.grantsByKind, grant.grantKind);
    for (const flag of grant.flags ?? []) increment(this.flagged, flag);
    if (grant.reviewable) {
      this.reviewable++;
      if (grant.reviewer) this.reviewableRouted++;
    }
  }

  addTask(task: Pick<ReviewTask, 'status'>): void {
    this.tasks++;
    if (task.status === 'completed') this.tasksCompleted++;
    if (task.status === 'unresponsive') this.tasksUnresponsive++;
    if ((task.status as string) === 'cancelled') this.tasksCancelled++;
  }

  addDecision(decision: Pick<Decision, 'decision'>): void {
    this.decided++;
    if (decision.decision === 'keep') this.kept++;
    if (decision.decision === 'revoke') this.revoked++;
    if ((decision.decision as string) === 'downgrade') this.downgraded++;
  }

  /** With the verification of the same grant, if any: a remediation is open until it reads absent. */
  addRevocation(
    revocation: Pick<Revocation, 'status'>,
    verification: Pick<Verification, 'status'> | undefined,
  ): void {
    increment(this.revocationStatuses, revocation.status);
    if (revocation.status === 'remediation_required' && verification?.status !== 'absent')
      this.remediationsOpen++;
  }

  addVerification(verification: Pick<Verification, 'status'>): void {
    if (verification.status === 'absent') this.verifiedAbsent++;
    if (verification.status === 'present') this.stillPresent++;
  }

  addEvent(event: CampaignEvent): void {
    this.events++;
    this.chain.add(event);
    if (event.type === 'campaign_failed') this.failure = event;
    if (event.type === 'campaign_resumed') this.failure = undefined;
    const { data } = event;
    switch (event.type as string) {
      case 'campaign_started':
        this.started ??= event;
        break;
      case 'campaign_cancelled':
        this.cancelled ??= event;
        break;
      case 'decision_recorded':
        if (data.bulk === true && data.decision === 'keep') this.bulkKept++;
        break;
      case 'reminder_sent':
        this.reminders++;
        break;
      case 'grant_reassigned':
        if (data.by === 'escalation') this.escalated++;
        if (data.by === 'delegation') this.delegated++;
        break;
      case 'window_policy_applied':
        if (data.policy === 'keep') this.policyKept++;
        if (data.policy === 'revoke') this.policyRevoked++;
        break;
      case 'email_sent':
        increment(this.emails, typeof data.purpose === 'string' ? data.purpose : 'unknown');
        break;
    }
  }

  /** Whether the chain (or, without a chain event, the campaign item) says the campaign failed. */
  get failed(): boolean {
    return this.failure !== undefined || this.campaign.status === ('failed' as string);
  }

  build(): CampaignSummary {
    const { campaign, guard, approval } = this;
    const chain = this.chain.result();
    const revocations = (status: string) => this.revocationStatuses.get(status) ?? 0;
    return {
      campaignId: campaign.campaignId,
      organization: campaign.organization,
      status: campaign.status,
      // Only a failed campaign carries these, so every other summary keeps the bytes it had.
      ...(this.failed ? { outcome: 'failed' as const, failure: this.failureDetails() } : {}),
      trigger: campaign.trigger,
      requestedBy: campaign.requestedBy,
      startedAt: campaign.startedAt,
      completedAt: campaign.completedAt ?? null,
      grants: this.grants,
      grantsByKind: sortedTally(this.grantsByKind),
      flagged: sortedTally(this.flagged),
      sourceUsage: campaign.sourceUsage ?? null,
      reviewable: this.reviewable,
      derived: this.grants - this.reviewable,
      reviewersAsked: this.tasks,
      reviewersCompleted: this.tasksCompleted,
      reviewersUnresponsive: this.tasksUnresponsive,
      decided: this.decided,
      kept: this.kept,
      revoked: this.revoked,
      undecided: this.reviewableRouted - this.decided,
      unroutable: this.reviewable - this.reviewableRouted,
      revocationsApplied: revocations('removed') + revocations('already_absent'),
      revocationsFailed: revocations('failed'),
      revocationsHeld: guard?.counts.held ?? 0,
      revocationsRejected: revocations('rejected'),
      revocationsRefused: revocations('refused_protected'),
      revocationGuard: guard
        ? {
            limits: guard.limits,
            revocations: guard.revocations,
            reviewable: guard.reviewable,
            percentAllowance: guard.percentAllowance,
            overPercentLimit: guard.overPercentLimit,
            counts: guard.counts,
            ownIdentities: guard.ownIdentities,
            approval: approval
              ? {
                  status: approval.status,
                  decidedBy: approval.decidedBy?.login ?? null,
                  decidedBySlackUserId: approval.decidedBy?.slackUserId ?? null,
                  decidedAt: approval.decidedAt ?? null,
                  reason: approval.expiredReason ?? null,
                }
              : null,
          }
        : null,
      remediationsRequired: revocations('remediation_required'),
      remediationsOpen: this.remediationsOpen,
      verifiedAbsent: this.verifiedAbsent,
      stillPresent: this.stillPresent,
      events: this.events,
      chainHead: chain.ok ? chain.head : null,
      chainIntact: chain.ok,
      ...this.format2(),
    };
  }

  /** What format 2 adds, all from the chain's own events (so verify-evidence rebuilds it as is). */
  private format2(): Pick<CampaignSummary, (typeof FORMAT_2_SUMMARY_FIELDS)[number]> {
    const started = this.started?.data ?? {};
    const cancelled = this.cancelled;
    const text = (value: unknown) => (typeof value === 'string' ? value : null);
    return {
      format: EVIDENCE_FORMAT,
      scope: Array.isArray(started.scope) ? started.scope.map(String) : [],
      reason: text(started.reason),
      cancelled: cancelled
        ? {
            by: text(cancelled.data.by) ?? '',
            byName: text(cancelled.data.byName),
            reason: text(cancelled.data.reason),
            phase: text(cancelled.data.phase),
            at: cancelled.at,
            eventSeq: cancelled.seq,
          }
        : null,
      reviewersCancelled: this.tasksCancelled,
      downgraded: this.downgraded,
      bulkKept: this.bulkKept,
      remindersSent: this.reminders,
      escalated: this.escalated,
      delegated: this.delegated,
      policyKept: this.policyKept,
      policyRevoked: this.policyRevoked,
      emailsSent: sortedTally(this.emails),
    };
  }

  private failureDetails(): FailureSummary {
    const event = this.failure;
    // Without the event (a crash before Finalize wrote it) the campaign item says what it knows.
    const data = event?.data ?? (this.campaign as { failure?: Record<string, unknown> }).failure ?? {};
    const text = (value: unknown) => (typeof value === 'string' ? value : null);
    return {
      state: text(data.state) ?? 'unknown',
      reviewer: text(data.reviewer),
      error: text(data.error) ?? 'unknown',
      cause: text(data.cause) ?? '',
      classification: text(data.classification) ?? 'unknown',
      statusBefore: text(data.statusBefore),
      attempt: typeof data.attempt === 'number' ? data.attempt : null,
      at: event?.at ?? text(data.at),
      eventSeq: event?.seq ?? null,
      revocationsPending: this.revocationStatuses.get('pending') ?? 0,
    };
  }
}

export function summarize(records: CampaignRecords): CampaignSummary {
  const builder = new SummaryBuilder(records.campaign, records.guard, records.approval);
  for (const grant of records.grants) builder.addGrant(grant);
  for (const task of records.tasks) builder.addTask(task);
  for (const decision of records.decisions) builder.addDecision(decision);
  const verificationOf = new Map<string, Verification>();
  for (const verification of records.verifications) {
    builder.addVerification(verification);
    // The first one, as a search of the list would find it.
    if (!verificationOf.has(verification.grantId)) verificationOf.set(verification.grantId, verification);
  }
  for (const revocation of records.revocations) {
    builder.addRevocation(revocation, verificationOf.get(revocation.grantId));
  }
  for (const event of records.events) builder.addEvent(event);
  return builder.build();
}

/** The numbers of a summary (no ids, times or hashes): what the campaign record and the final event keep. */
export const SUMMARY_COUNTS = [
  'grants',
  'reviewable',
  'derived',
  'reviewersAsked',
  'reviewersCompleted',
  'reviewersUnresponsive',
  'decided',
  'kept',
  'revoked',
  'downgraded',
  'undecided',
  'unroutable',
  'revocationsApplied',
  'revocationsFailed',
  'revocationsHeld',
  'revocationsRejected',
  'revocationsRefused',
  'remediationsRequired',
  'remediationsOpen',
  'verifiedAbsent',
  'stillPresent',
  'events',
] as const satisfies ReadonlyArray<keyof CampaignSummary>;

export function countsOf(summary: CampaignSummary): Record<string, number> {
  return Object.fromEntries(SUMMARY_COUNTS.map((name) => [name, summary[name] ?? 0]));
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Keys in sorted order, as the summary has always listed them. */
function sortedTally(counts: Map<string, number>): Record<string, number> {
  const tally: Record<string, number> = {};
  for (const key of [...counts.keys()].sort()) tally[key] = counts.get(key) ?? 0;
  return tally;
}
