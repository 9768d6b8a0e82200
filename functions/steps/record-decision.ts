import { canDowngrade } from '../core/downgrade';
import {
  describeJustificationReasons,
  JustificationTextError,
  justificationReasons,
  normalizeJustification,
} from '../core/justification';
import type { Services } from '../runtime/services';
import type { Decision, DecisionValue } from '../store/decisions';
import type { StoredGrant } from '../store/grants';
import type { ReviewTask } from '../store/tasks';
import { completeIfDone } from './review-task';

export interface DecisionRequest {
  campaignId: string;
  grantId: string;
  decision: DecisionValue;
  /** The Slack user who clicked, as Slack reported it in the signed request. */
  slackUserId: string;
  justification?: string;
  /**
   * Where the justification came from: `typed` in the justification modal, or a ready-made
   * `reason` of the "…" menu. Only a typed one keeps a grant that needs a reason.
   */
  justificationSource?: 'typed' | 'reason';
  /** With `downgrade`: the entitlement to lower the grant to (one of downgradeOptions(grant)). */
  downgradeTo?: string;
}

/**
 * `task` is the task as this click left it (its counters, and `completed` when this click or an
 * earlier one completed it): what the message redraw needs besides the message itself.
 */
export type DecisionOutcome =
  | { kind: 'recorded'; decision: Decision; task: ReviewTask; taskCompleted: boolean }
  | { kind: 'duplicate'; decision: Decision; task: ReviewTask; taskCompleted: boolean }
  | { kind: 'refused'; reason: string };

/** Why a click was refused, for the listeners (a modal shows some of them next to its field). */
export type RefusalCode =
  | 'not_in_review'
  | 'not_decider'
  | 'own_access'
  | 'closed'
  | 'cancelled'
  | 'reason_needed'
  | 'reason_invalid'
  | 'downgrade_invalid';

const NOT_IN_REVIEW = 'This grant is not part of an open review.';
const OWN_ACCESS = 'Nobody decides on their own access.';

/** Who may decide the grant now, and by which Slack user. */
export interface Decider {
  /** Login: the assignee of a handed-over grant, else the task's reviewer. */
  login: string;
  /** Their Slack user id; undefined when the assignee was not found in Slack (nobody may click). */
  slackUserId: string | undefined;
  /** True when the decider is not the task's reviewer. */
  delegated: boolean;
}

export function deciderOf(grant: StoredGrant, task: ReviewTask): Decider {
  if (grant.assignee && grant.assignee.toLowerCase() !== task.reviewer.toLowerCase()) {
    return { login: grant.assignee, slackUserId: grant.assigneeSlackUserId, delegated: true };
  }
  return { login: task.reviewer, slackUserId: task.slackUserId, delegated: false };
}

/**
 * The checks every click and submission on a grant passes before anything is written: the grant
 * is in this campaign and assigned, the clicker is the grant's decider (its assignee once handed
 * over, else the task's reviewer: the original reviewer may no longer decide a grant handed
 * over), and neither the decider's login nor the clicker's Slack user holds the access.
 */
export async function checkDecider(
  services: Services,
  campaignId: string,
  grantId: string,
  slackUserId: string,
): Promise<
  | { ok: true; grant: StoredGrant & { reviewer: string }; task: ReviewTask; decider: Decider }
  | { ok: false; reason: string; code: RefusalCode }
> {
  const { store } = services;
  const grant = await store.grants.get(campaignId, grantId);
  if (!grant?.reviewer) return { ok: false, reason: NOT_IN_REVIEW, code: 'not_in_review' };
  const task = await store.tasks.get(campaignId, grant.reviewer);
  if (!task) return { ok: false, reason: NOT_IN_REVIEW, code: 'not_in_review' };
  const checked = checkClicker(services, grant, task, slackUserId);
  if (!checked.ok) return checked;
  return { ok: true, grant: grant as StoredGrant & { reviewer: string }, task, decider: checked.decider };
}

/** checkDecider's checks on a grant and task already read: the clicker is the decider, who does not hold the access. */
export function checkClicker(
  services: Services,
  grant: StoredGrant,
  task: ReviewTask,
  slackUserId: string,
): { ok: true; decider: Decider } | { ok: false; reason: string; code: RefusalCode } {
  const { campaignId, grantId } = grant;
  const decider = deciderOf(grant, task);
  if (decider.slackUserId === undefined || decider.slackUserId !== slackUserId) {
    services.log.warn('decision refused: not the grant decider', {
      campaignId,
      grantId,
      slackUserId,
      delegated: decider.delegated,
    });
    // The task's reviewer clicking a grant they handed over is told where it went.
    const reason =
      decider.delegated && task.slackUserId === slackUserId
        ? `This grant was handed over to ${decider.login}; they decide it now.`
        : 'Only the person this grant is assigned to can decide on it.';
    return { ok: false, reason, code: 'not_decider' };
  }
  // Routing never assigns a grant to its holder; this guards the table against anything that did,
  // by login and by Slack user (another login of the clicker's, reached through an alias email).
  const who = decider.login.toLowerCase();
  const ownByLogin =
    (grant.principalType === 'user' && grant.principal.toLowerCase() === who) ||
    grant.holder?.toLowerCase() === who;
  const ownBySlackUser = grant.holderSlackUserIds?.includes(slackUserId) === true;
  if (ownByLogin || ownBySlackUser) {
    services.log.warn('decision refused: the clicker holds this access', {
      campaignId,
      grantId,
      decider: decider.login,
      slackUserId,
      matchedBy: ownByLogin ? 'login' : 'slack_user_id',
    });
    return { ok: false, reason: OWN_ACCESS, code: 'own_access' };
  }
  return { ok: true, decider };
}

/** Why a task that is not awaiting decisions refuses one. */
export function closedReason(task: ReviewTask): { reason: string; code: RefusalCode } {
  if (task.status === 'cancelled') {
    return {
      reason: 'This review was cancelled by the security team; nothing more is decided in it.',
      code: 'cancelled',
    };
  }
  return {
    reason:
      task.status === 'unresponsive'
        ? 'The review window for this task has closed; the grant was left undecided.'
        : 'This review is not open for decisions.',
    code: 'closed',
  };
}

/**
 * Checks that the click may decide this grant, then writes the decision once, counts it on the
 * task and, on the last decision, completes the task and resumes the workflow. A refusal writes
 * nothing. In order: checkDecider (the grant, its decider, own access); the task is open (read
 * strongly consistent: a click that finds it open may still be written after the window closes,
 * none that finds it closed is; a cancelled review says so); what the decision needs (a typed
 * reason to keep a grant the configuration says needs one, a downgrade target the source offers);
 * then the decision (a conditional put: written once) and its event.
 *
 * Every read and write is of one item (or the event log's head), so a click costs the same for a
 * reviewer of 10 grants as of 10,000. Nothing here talks to Slack: the listener acknowledges the
 * click once this returns, and only then redraws the message.
 */
export async function recordDecision(request: DecisionRequest, services: Services): Promise<DecisionOutcome> {
  const { store } = services;
  const { campaignId, grantId } = request;
  // Before any read: the decision is the click's, made while the task read below was open.
  const clickedAt = services.now();
  const checked = await checkDecider(services, campaignId, grantId, request.slackUserId);
  if (!checked.ok) return { kind: 'refused', reason: checked.reason };
  const { grant, task, decider } = checked;

  if (task.status !== 'awaiting') {
    const existing = await store.decisions.get(campaignId, grantId);
    if (existing)
      return { kind: 'duplicate', decision: existing, task, taskCompleted: task.status === 'completed' };
    return { kind: 'refused', reason: closedReason(task).reason };
  }
  const needed = checkWhatTheDecisionNeeds(request, grant, services);
  if (!needed.ok) {
    // A decision already written answers a repeated submission, whatever it carried.
    const existing = await store.decisions.get(campaignId, grantId);
    if (existing) return { kind: 'duplicate', decision: existing, task, taskCompleted: false };
    services.log.warn('decision refused', { campaignId, grantId, code: needed.code });
    return { kind: 'refused', reason: needed.reason };
  }
  return writeDecision(services, grant, task, decider, {
    decision: request.decision,
    slackUserId: request.slackUserId,
    ...(needed.justification ? { justification: needed.justification } : {}),
    ...(request.decision === 'downgrade' && request.downgradeTo ? { downgradeTo: request.downgradeTo } : {}),
    at: clickedAt,
  });
}

function checkWhatTheDecisionNeeds(
  request: DecisionRequest,
  grant: StoredGrant,
  services: Services,
): { ok: true; justification?: string } | { ok: false; reason: string; code: RefusalCode } {
  let justification: string | undefined;
  if (request.justification !== undefined) {
    if (request.justificationSource === 'typed') {
      try {
        justification = normalizeJustification(request.justification);
      } catch (error) {
        if (!(error instanceof JustificationTextError)) throw error;
        return { ok: false, reason: error.message, code: 'reason_invalid' };
      }
    } else {
      justification = request.justification;
    }
  }
  if (request.decision === 'keep') {
    const classes = justificationReasons(grant, services.config.review.justificationRequiredFor);
    // A forged Keep button or a ready-made Keep reason must not stand in for the modal.
    if (classes.length > 0 && (request.justificationSource !== 'typed' || !justification)) {
      return {
        ok: false,
        reason: `Keeping this grant needs a written reason (${describeJustificationReasons(classes)}): use Keep… and give one.`,
        code: 'reason_needed',
      };
    }
  }
  if (request.decision === 'downgrade') {
    if (!request.downgradeTo || !canDowngrade(grant, request.downgradeTo)) {
      return {
        ok: false,
        reason: `This grant cannot be downgraded to ${JSON.stringify(request.downgradeTo ?? '')} at its source.`,
        code: 'downgrade_invalid',
      };
    }
  } else if (request.downgradeTo !== undefined) {
    return {
      ok: false,
      reason: 'Only a downgrade names what to lower the access to.',
      code: 'downgrade_invalid',
    };
  }
  return { ok: true, ...(justification ? { justification } : {}) };
}

/** What a checked decision writes. */
export interface DecisionWrite {
  decision: DecisionValue;
  slackUserId: string;
  justification?: string;
  downgradeTo?: string;
  /** Taken by "Keep all remaining". */
  bulk?: boolean;
  /**
   * The click's time, taken before the task was read open: the decision's time. A close or cancel
   * that lands between that read and the write comes after it, as the evidence checks assume.
   */
  at?: Date;
}

/**
 * Writes a checked decision once (a conditional put), appends its event, counts it on the task
 * (once: the decision item's counted flag) and, on the last one, completes the task and resumes
 * the workflow. Shared by a click and "Keep all remaining", which makes the same checks first.
 */
export async function writeDecision(
  services: Services,
  grant: StoredGrant & { reviewer: string },
  task: ReviewTask,
  decider: Decider,
  write: DecisionWrite,
): Promise<Exclude<DecisionOutcome, { kind: 'refused' }>> {
  const { store } = services;
  const { campaignId, grantId } = grant;
  const now = write.at ?? services.now();
  const decidedBy = decider.delegated ? decider.login : undefined;
  const result = await store.decisions.record(
    {
      campaignId,
      grantId,
      decision: write.decision,
      reviewer: grant.reviewer,
      ...(decidedBy ? { decidedBy } : {}),
      decidedBySlackUserId: write.slackUserId,
      decidedAt: now.toISOString(),
      ...(write.justification ? { justification: write.justification } : {}),
      ...(write.downgradeTo ? { downgradeTo: write.downgradeTo } : {}),
      ...(write.bulk ? { bulk: true } : {}),
      channel: 'slack',
    },
    // The grant's principal and resource key the decision into the history index.
    grant,
  );
  let counted: boolean;
  if (result.recorded) {
    const event = await store.events.append(
      campaignId,
      'decision_recorded',
      {
        grantId,
        decision: write.decision,
        reviewer: grant.reviewer,
        decidedBySlackUserId: write.slackUserId,
        justification: write.justification ?? null,
        ...(decidedBy ? { decidedBy } : {}),
        ...(write.downgradeTo ? { downgradeTo: write.downgradeTo } : {}),
        ...(write.bulk ? { bulk: true } : {}),
      },
      now,
    );
    counted = await store.decisions.markCounted(campaignId, grantId, event.seq);
  } else if (result.decision.channel === 'policy') {
    // The end-of-window policy's decision is an exception, never a reviewer's: a click that lost
    // the race to it counts nothing on the task.
    counted = false;
  } else {
    // A repeated click counts the decision only if the click that wrote it died before counting.
    counted = await store.decisions.markCounted(campaignId, grantId);
  }
  let current = task;
  let taskCompleted = false;
  if (counted) {
    current = await store.tasks.countDecision(campaignId, grant.reviewer, result.decision.decision);
    const closed = await completeIfDone(services, current, current.decidedCount, { resume: true });
    if (closed) {
      taskCompleted = true;
      current = { ...current, status: 'completed' };
    }
  }
  return result.recorded
    ? { kind: 'recorded', decision: result.decision, task: current, taskCompleted }
    : { kind: 'duplicate', decision: result.decision, task: current, taskCompleted };
}
