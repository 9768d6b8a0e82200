import { type EndOfWindowAction, endOfWindowPolicy } from '../core/config';
import type { Services } from '../runtime/services';
import type { CampaignEvent } from '../store/events';
import type { StoredGrant } from '../store/grants';
import type { ReviewTask } from '../store/tasks';
import { completeIfDone, loadReviewerState, redrawTaskMessage } from './review-task';
import { timeIsShort } from './time-budget';

export interface MarkUnresponsiveInput {
  campaignId: string;
  reviewer: string;
  /** The Catch's error output: `{ Error, Cause }` (States.Timeout when the window closed). */
  error?: { Error?: string; Cause?: string };
}

/** What the end-of-window policy did to the task's undecided grants, in this and earlier runs. */
export interface WindowPolicyCounts {
  /** Grants the policy kept, and revoked, in this run (earlier runs' are in the chain). */
  kept: number;
  revoked: number;
  /** Undecided grants whose kind's policy is leave: they stay undecided. */
  left: number;
}

export interface MarkUnresponsiveOutput {
  campaignId: string;
  reviewer: string;
  status: 'completed' | 'unresponsive' | 'cancelled';
  undecided: number;
  policy?: WindowPolicyCounts;
  /**
   * False when the policy still has undecided grants to go through and the Lambda's time is
   * short: the workflow runs the step again with the same input, and it goes on (every grant a
   * run finished is decided, so the next run skips it).
   */
  complete: boolean;
}

/** Grants read (and decisions looked up) at once while applying the policy: one Query and one BatchGet. */
const POLICY_PAGE = 100;
/**
 * Time kept back for the policy's last page and the message redraw. The policy makes no calls to
 * GitHub or AWS, only to the table (and Slack for the redraw), so this is far less than the
 * margin of the steps that call sources.
 */
const POLICY_MARGIN_MS = 30_000;

/**
 * The review window closed (or the task failed) before the task completed. Undecided grants stay
 * as they are unless the end-of-window policy (review.endOfWindow) says keep or revoke for their
 * kind; the evidence names the reviewer either way. The task token is dead by now, so this step
 * never sends it: the workflow goes on from the Catch.
 *
 * The policy's decisions are written after `reviewer_unresponsive` (the review closed first, so
 * no click can race them: a click that found the task open and writes after the close decides
 * the grant itself, and the policy leaves it). Each is an exception, not a review: a decision item
 * with `channel: 'policy'` and no Slack user, a `window_policy_applied` and a `decision_recorded`
 * event (with `channel: 'policy'`), and no count on the task. A policy revoke then goes through
 * the revocation guard and is applied and verified like any revoke.
 */
export async function markUnresponsive(
  input: MarkUnresponsiveInput,
  services: Services,
): Promise<MarkUnresponsiveOutput> {
  const { campaignId, reviewer } = input;
  const task = await services.store.tasks.get(campaignId, reviewer);
  const done = (status: MarkUnresponsiveOutput['status'], undecided: number) => ({
    campaignId,
    reviewer,
    status,
    undecided,
    complete: true,
  });
  if (!task) return done('unresponsive', 0);
  if (task.status === 'completed') return done('completed', 0);
  if (task.status === 'cancelled') return done('cancelled', task.grantCount - task.decidedCount);
  if (task.status === 'unresponsive') {
    // A retried or resumed run: the review is closed and recorded; the policy goes on from
    // where the last run stopped (nothing is written twice).
    return finishPolicy(services, task, task.grantCount - task.decidedCount, false);
  }
  // A click that wrote its decision and died before counting it leaves the counter short; the
  // decisions themselves are counted once here, at the end of the window (never per click).
  const decided =
    task.decidedCount >= task.grantCount
      ? task.decidedCount
      : Math.max(task.decidedCount, await services.store.decisions.countForReviewer(campaignId, reviewer));
  if (decided >= task.grantCount) {
    // Every grant was decided but the workflow was not resumed in time: the review is complete.
    await completeIfDone(services, task, decided, { resume: false });
    return done('completed', 0);
  }
  const closed = await services.store.tasks.close(campaignId, reviewer, 'unresponsive', services.now());
  if (!closed) {
    // A last click completed the task (or a cancel closed it) between our read and the close.
    const now = await services.store.tasks.get(campaignId, reviewer);
    const status = now?.status === 'completed' || now?.status === 'cancelled' ? now.status : 'unresponsive';
    return done(status, 0);
  }
  // As closed: decisions counted before the close. A click that found the task open just before
  // may still write its decision after; none that finds it closed does.
  const final = closed.task;
  const finalDecided = Math.max(final.decidedCount, decided);
  const stillUndecided = final.grantCount - finalDecided;
  await services.store.events.append(
    campaignId,
    'reviewer_unresponsive',
    {
      reviewer,
      undecided: stillUndecided,
      decided: finalDecided,
      reason: input.error?.Error ?? 'unknown',
      // When the task closed, as reviewers.csv shows it.
      completedAt: final.completedAt ?? null,
    },
    services.now(),
  );
  services.progress(`Review window closed for ${reviewer}: ${stillUndecided} grants left undecided`);
  return finishPolicy(services, final, stillUndecided, true);
}

/** Applies the policy (or goes on applying it), then redraws the message once it is through. */
async function finishPolicy(
  services: Services,
  task: ReviewTask,
  undecided: number,
  justClosed: boolean,
): Promise<MarkUnresponsiveOutput> {
  const { campaignId, reviewer } = task;
  const policy = policyApplies(services) ? await applyWindowPolicy(services, task) : undefined;
  const output: MarkUnresponsiveOutput = {
    campaignId,
    reviewer,
    status: 'unresponsive',
    undecided,
    ...(policy ? { policy: policy.counts } : {}),
    complete: policy?.complete ?? true,
  };
  if (!output.complete) return output;
  if (policy && policy.counts.kept + policy.counts.revoked > 0) {
    services.progress(
      `End-of-window policy for ${reviewer}: ${policy.counts.kept} kept, ${policy.counts.revoked} revoked (exceptions, not reviews); ${policy.counts.left} left undecided`,
    );
  }
  // Redrawn once the policy is through, so the message shows what it decided; a run that only
  // confirmed earlier work leaves the message as the earlier run drew it.
  if (justClosed || (policy && policy.counts.kept + policy.counts.revoked > 0)) {
    await redrawTaskMessage(services, task, await loadReviewerState(services, task), 'window_closed');
  }
  return output;
}

/** False when every kind's policy is leave (the default): nothing to read. */
function policyApplies(services: Services): boolean {
  const { endOfWindow } = services.config.review;
  return endOfWindow.default !== 'leave' || Object.values(endOfWindow.byGrantKind).some((a) => a !== 'leave');
}

/**
 * Goes through the task's grants a page at a time (never the whole task in memory), and decides
 * each undecided one whose kind's policy is keep or revoke, once. Stops early, incomplete, when
 * the Lambda's time is short or the campaign was cancelled meanwhile (a cancelled campaign
 * records no decision after its cancel).
 */
async function applyWindowPolicy(
  services: Services,
  task: ReviewTask,
): Promise<{ counts: WindowPolicyCounts; complete: boolean }> {
  const { store } = services;
  const { campaignId, reviewer } = task;
  const counts: WindowPolicyCounts = { kept: 0, revoked: 0, left: 0 };
  const recovery = new PolicyEventIndex(services, campaignId, reviewer);
  let after: string | undefined;
  for (;;) {
    if (timeIsShort(services, 0, POLICY_MARGIN_MS)) {
      services.progress(
        `End-of-window policy for ${reviewer}: stopping before the Lambda's time runs out (the workflow resumes it)`,
      );
      return { counts, complete: false };
    }
    const campaign = await store.campaigns.find(campaignId);
    if (campaign?.cancellation) {
      services.progress(`End-of-window policy for ${reviewer}: not applied, the campaign was cancelled`);
      return { counts, complete: true };
    }
    const page = await store.tasks.grantsAfter(campaignId, reviewer, after, POLICY_PAGE);
    if (page.length === 0) break;
    after = page.at(-1)?.grantId;
    const decided = await store.decisions.getMany(
      campaignId,
      page.map((grant) => grant.grantId),
    );
    for (const grant of page) {
      const existing = decided.get(grant.grantId);
      // A reviewer's (or delegate's) decision stands; a policy decision with its event is done.
      if (existing && (existing.channel !== 'policy' || existing.eventSeq !== undefined)) continue;
      const action = endOfWindowPolicy(services.config, grant.grantKind);
      if (action === 'leave') {
        counts.left++;
        continue;
      }
      if (await decideByPolicy(services, grant, action, recovery)) {
        if (action === 'keep') counts.kept++;
        else counts.revoked++;
      }
    }
    if (page.length < POLICY_PAGE) break;
  }
  return { counts, complete: true };
}

/**
 * Writes the policy's decision on one grant and its two events, each once. True when this run
 * wrote the decision or finished an earlier run's events. A click's decision that won the race
 * for the grant stays, and nothing is written.
 */
async function decideByPolicy(
  services: Services,
  grant: StoredGrant,
  action: Exclude<EndOfWindowAction, 'leave'>,
  recovery: PolicyEventIndex,
): Promise<boolean> {
  const { store } = services;
  const { campaignId } = grant;
  const reviewer = grant.reviewer ?? '';
  const at = services.now();
  const result = await store.decisions.record(
    {
      campaignId,
      grantId: grant.grantId,
      decision: action,
      reviewer,
      decidedBySlackUserId: '',
      decidedAt: at.toISOString(),
      channel: 'policy',
    },
    grant,
  );
  const decision = result.decision;
  if (decision.channel !== 'policy' || decision.eventSeq !== undefined) return false;
  // The decision's own time is the events' time (verify-evidence compares them), also when an
  // earlier run wrote the decision and stopped before its events.
  const decidedAt = new Date(decision.decidedAt);
  const earlier = result.recorded ? undefined : await recovery.find(grant.grantId);
  if (!earlier?.policy) {
    await store.events.append(
      campaignId,
      'window_policy_applied',
      { grantId: grant.grantId, reviewer, grantKind: grant.grantKind, policy: decision.decision },
      decidedAt,
    );
  }
  const recorded =
    earlier?.decision ??
    (await store.events.append(
      campaignId,
      'decision_recorded',
      {
        grantId: grant.grantId,
        decision: decision.decision,
        reviewer,
        decidedBySlackUserId: '',
        justification: null,
        channel: 'policy',
      },
      decidedAt,
    ));
  await store.decisions.linkEvent(campaignId, grant.grantId, recorded.seq);
  return true;
}

/**
 * The policy events of one reviewer already in the chain, read only when a run finds a policy
 * decision without its event (an earlier run stopped between the writes): one pass over the
 * chain, keeping only this reviewer's policy events.
 */
class PolicyEventIndex {
  private index?: Map<string, { policy?: CampaignEvent; decision?: CampaignEvent }>;

  constructor(
    private readonly services: Services,
    private readonly campaignId: string,
    private readonly reviewer: string,
  ) {}

  async find(grantId: string): Promise<{ policy?: CampaignEvent; decision?: CampaignEvent } | undefined> {
    if (!this.index) {
      const index = new Map<string, { policy?: CampaignEvent; decision?: CampaignEvent }>();
      for await (const page of this.services.store.events.pages(this.campaignId)) {
        for (const event of page) {
          if (event.data.reviewer !== this.reviewer || typeof event.data.grantId !== 'string') continue;
          const entry = index.get(event.data.grantId) ?? {};
          if (event.type === 'window_policy_applied') entry.policy = event;
          else if (event.type === 'decision_recorded' && event.data.channel === 'policy')
            entry.decision = event;
          else continue;
          index.set(event.data.grantId, entry);
        }
      }
      this.index = index;
    }
    return this.index.get(grantId);
  }
}
