import { reviewReminderHours } from '../core/config';
import { AccessReviewError, classifyError } from '../core/errors';
import { emailReminder } from '../email/review-task';
import type { Services } from '../runtime/services';
import type { ReviewTask } from '../store/tasks';
import { loadReviewerState, type ReviewerState, redrawTaskMessage } from './review-task';

/** The reminder could not reach the reviewer by any channel they have. */
export class ReminderUndeliverableError extends AccessReviewError {}

export interface ReminderOutcome {
  /**
   * `sent` (and recorded), `already_sent` (an earlier attempt recorded it), `nothing_left`,
   * `undeliverable`, `not_requested` (the review itself is not in the chain yet: nothing to remind of).
   */
  status: 'sent' | 'already_sent' | 'nothing_left' | 'undeliverable' | 'not_requested';
  channel?: 'slack' | 'email';
  undecided: number;
}

/**
 * The grants of the task that still wait for its reviewer: undecided, and not handed to someone
 * else (those are the assignee's to decide and are reminded through the handover, not here).
 */
export function undecidedByReviewer(state: ReviewerState): number {
  return state.grants.filter((grant) => !state.decisions.has(grant.grantId) && !grant.assignee).length;
}

/**
 * Reminder `number` of the task: a reply in the reviewer's DM thread (the review message stays the
 * one place to decide, and is redrawn so its counts are current) or, for a reviewer not reachable
 * in Slack, an email. Delivery comes first and the record second, so a retried step may deliver a
 * reminder twice (a crash between the two) but records it once: the task's `remindersSent` marker is
 * claimed conditionally, and only the claim's winner appends `reminder_sent`.
 *
 * Slack refusing the app (authentication, permission) is thrown: every reminder would fail alike. Any
 * other delivery failure is logged and reported `undeliverable`, never fatal to the review.
 */
export async function sendReminder(
  services: Services,
  task: ReviewTask,
  number: number,
): Promise<ReminderOutcome> {
  // A reminder before review_requested would remind of a request the chain does not show yet
  // (`/access-review remind` while RequestReview is still sending): verify-evidence refuses it.
  if (!task.requestRecorded)
    return { status: 'not_requested', undecided: task.grantCount - task.decidedCount };
  const state = await loadReviewerState(services, task);
  const undecided = undecidedByReviewer(state);
  if ((task.remindersSent ?? 0) >= number) return { status: 'already_sent', undecided };
  if (undecided === 0) return { status: 'nothing_left', undecided };
  const reminders = reviewReminderHours(services.config).length;
  let channel: 'slack' | 'email';
  try {
    channel = await deliver(services, task, state, number, undecided, reminders);
  } catch (error) {
    const kind = classifyError(error);
    if (kind === 'authentication' || kind === 'permission') throw error;
    services.log.warn('reminder not delivered', {
      campaignId: task.campaignId,
      reviewer: task.reviewer,
      number,
      error: error instanceof Error ? error.message : String(error),
    });
    return { status: 'undeliverable', undecided };
  }
  const claimed = await services.store.tasks.claimReminder(task.campaignId, task.reviewer, number);
  if (!claimed) return { status: 'already_sent', channel, undecided };
  const sentAt = services.now();
  await services.store.events.append(
    task.campaignId,
    'reminder_sent',
    { reviewer: task.reviewer, number, channel, undecided, sentAt: sentAt.toISOString() },
    sentAt,
  );
  services.progress(`Reminded ${task.reviewer} (${ordinal(number)} reminder): ${undecided} grants left`);
  return { status: 'sent', channel, undecided };
}

async function deliver(
  services: Services,
  task: ReviewTask,
  state: ReviewerState,
  number: number,
  undecided: number,
  reminders: number | undefined,
): Promise<'slack' | 'email'> {
  const due = new Date(task.dueAt);
  if (task.slackUserId && task.channelId && task.messageTs) {
    const slack = await services.slack();
    await slack.chat.postMessage({
      channel: task.channelId,
      thread_ts: task.messageTs,
      text: reminderText(number, reminders, undecided, due, 'slack'),
    });
    await redrawTaskMessage(services, task, state);
    return 'slack';
  }
  const email = reviewerEmail(services, task.reviewer);
  if (!email) {
    throw new ReminderUndeliverableError(
      `${task.reviewer} has no review message in Slack and no email in people`,
    );
  }
  // Sent once per campaign, reviewer and number, with its email_sent, by functions/email; a send
  // another attempt holds (in_progress) is that attempt's to finish.
  const outcome = await emailReminder(services, {
    campaignId: task.campaignId,
    reviewer: task.reviewer,
    email,
    grants: state.grants.filter((grant) => !state.decisions.has(grant.grantId) && !grant.assignee),
    grantCount: task.grantCount,
    dueAt: task.dueAt,
    number,
    ...(reminders !== undefined && number <= reminders ? { reminders } : {}),
  });
  if (outcome === 'not_configured') {
    throw new ReminderUndeliverableError(
      `${task.reviewer} has no review message in Slack and ${
        services.email ? 'review tasks are not emailed' : 'no email is configured'
      }`,
    );
  }
  return 'email';
}

/** The reviewer's address from `people` (never logged, never in the chain). */
export function reviewerEmail(services: Services, login: string): string | undefined {
  return services.config.people.find((person) => person.github.toLowerCase() === login.toLowerCase())?.email;
}

export function reminderText(
  number: number,
  of: number | undefined,
  undecided: number,
  due: Date,
  channel: 'slack' | 'email',
): string {
  // A reminder asked for on top of the calendar's (`/access-review remind`) is not "3 of 2".
  const which = of && of > 1 && number <= of ? `Reminder ${number} of ${of}` : 'Reminder';
  const left = `${plural(undecided, 'grant')} still ${undecided === 1 ? 'waits' : 'wait'} for your decision`;
  const deadline =
    channel === 'slack'
      ? `<!date^${Math.floor(due.getTime() / 1000)}^{date_short_pretty} at {time}|${plainDate(due)}>`
      : plainDate(due);
  const where =
    channel === 'slack'
      ? 'Decide them in the message above.'
      : 'Decide them in Slack, or ask the security team to hand them to someone who can.';
  return `${which}: ${left}, due ${deadline}. Grants without a decision when the window closes are recorded as such. ${where}`;
}

function plainDate(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function ordinal(n: number): string {
  const suffix =
    n % 10 === 1 && n % 100 !== 11
      ? 'st'
      : n % 10 === 2 && n % 100 !== 12
        ? 'nd'
        : n % 10 === 3 && n % 100 !== 13
          ? 'rd'
          : 'th';
  return `${n}${suffix}`;
}

export interface RemindNowResult {
  reminded: Array<{ reviewer: string; channel: 'slack' | 'email'; undecided: number }>;
  failed: Array<{ reviewer: string; error: string }>;
}

/**
 * `/access-review remind`: a reminder now to every reviewer whose task is open and who still has
 * grants to decide, through the same path as the calendar's (the DM thread, or email), numbered
 * after the last one each has had and recorded as `reminder_sent` like them. One reviewer's
 * failure does not stop the others; Slack refusing the app does (every reminder would fail alike).
 */
export async function sendRemindersNow(
  input: { campaignId: string; requestedBy: string },
  services: Services,
): Promise<RemindNowResult> {
  const result: RemindNowResult = { reminded: [], failed: [] };
  for (const task of await services.store.tasks.list(input.campaignId)) {
    if (task.status !== 'awaiting') continue;
    const outcome = await sendReminder(services, task, (task.remindersSent ?? 0) + 1);
    if (outcome.status === 'sent' && outcome.channel) {
      result.reminded.push({
        reviewer: task.reviewer,
        channel: outcome.channel,
        undecided: outcome.undecided,
      });
    } else if (outcome.status === 'undeliverable') {
      result.failed.push({ reviewer: task.reviewer, error: 'the reminder could not be delivered' });
    }
  }
  services.log.info('reminders sent on request', {
    campaignId: input.campaignId,
    requestedBy: input.requestedBy,
    reminded: result.reminded.length,
    failed: result.failed.length,
  });
  return result;
}
