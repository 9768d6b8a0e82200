import { type AccessReviewConfig, reviewReminderHours } from '../core/config';
import { AccessReviewError, TransientError } from '../core/errors';
import type { Services } from '../runtime/services';
import { escalateTask } from './escalation';
import { sendReminder } from './reminders';

/**
 * A reviewer's calendar: the hours after their request at which something happens. Reminders and
 * the escalation fall inside the window (the configuration refuses them otherwise); the close is the
 * window's end. Each hour lasts `hourSeconds` (3600 on AWS; the embedded host shrinks it).
 */
export type CalendarMoment =
  | { kind: 'reminder'; number: number; hours: number }
  | { kind: 'escalation'; hours: number }
  | { kind: 'close'; hours: number };

/** The task has no request time: the calendar has no origin. */
export class ReviewNotRequestedError extends AccessReviewError {}

export const DEFAULT_REVIEW_HOUR_SECONDS = 3600;

/**
 * A Step Functions timeout may fire a moment before the second it was set for is over; a moment
 * this close to now counts as due, so a checkpoint never schedules a wait of a few milliseconds.
 */
const DUE_TOLERANCE_MS = 500;

export function reviewCalendar(config: AccessReviewConfig): CalendarMoment[] {
  const window = config.review.windowHours;
  const moments: CalendarMoment[] = reviewReminderHours(config)
    .filter((hours) => hours < window)
    .map((hours, index) => ({ kind: 'reminder', number: index + 1, hours }));
  const escalate = config.review.escalateAfterHours;
  if (escalate !== undefined && escalate < window) moments.push({ kind: 'escalation', hours: escalate });
  moments.push({ kind: 'close', hours: window });
  // At the same hour, the escalation goes before a reminder: the reminder then counts what is left.
  const rank = { escalation: 0, reminder: 1, close: 2 } as const;
  return moments.sort((a, b) => a.hours - b.hours || rank[a.kind] - rank[b.kind]);
}

export function hourSecondsOf(services: { reviewHourSeconds?: number }): number {
  const seconds = services.reviewHourSeconds ?? DEFAULT_REVIEW_HOUR_SECONDS;
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw new RangeError(`reviewHourSeconds must be a positive number, not ${seconds}`);
  }
  return seconds;
}

export interface CalendarPosition {
  /** The moments whose time has come, in calendar order. */
  due: CalendarMoment[];
  /** The first moment still ahead, and the whole seconds until it (at least 1). */
  next?: { moment: CalendarMoment; waitSeconds: number };
}

/** Where `now` falls in the calendar of a task requested at `requestedAt`. */
export function calendarPosition(
  calendar: readonly CalendarMoment[],
  requestedAt: Date,
  now: Date,
  hourSeconds: number,
): CalendarPosition {
  const elapsedMs = now.getTime() - requestedAt.getTime();
  const atMs = (moment: CalendarMoment) => moment.hours * hourSeconds * 1000;
  const due = calendar.filter((moment) => atMs(moment) <= elapsedMs + DUE_TOLERANCE_MS);
  const ahead = calendar.find((moment) => atMs(moment) > elapsedMs + DUE_TOLERANCE_MS);
  if (!ahead) return { due };
  // Whole seconds (TimeoutSecondsPath takes an integer), rounded up so the wait never ends early.
  const waitSeconds = Math.max(1, Math.ceil((atMs(ahead) - elapsedMs) / 1000));
  return { due, next: { moment: ahead, waitSeconds } };
}

/** When the window of a task requested at `requestedAt` ends. */
export function windowEnd(config: AccessReviewConfig, requestedAt: Date, hourSeconds: number): Date {
  return new Date(requestedAt.getTime() + config.review.windowHours * hourSeconds * 1000);
}

export interface ReviewCheckpointInput {
  campaignId: string;
  reviewer: string;
}

export interface ReviewCheckpointOutput {
  campaignId: string;
  reviewer: string;
  /**
   * `close`: the window is over (MarkUnresponsive follows); `wait`: AwaitReview again; `done`: the
   * task is already closed (the last click came between two waits, or a cancel), the child ends.
   */
  next: 'wait' | 'close' | 'done';
  /** Seconds until the next checkpoint (0 unless `wait`). */
  waitSeconds: number;
  /** What this checkpoint did, for the history and the tests. */
  did: Array<'reminder' | 'escalation'>;
}

/**
 * One checkpoint of a reviewer's calendar (AwaitReview timed out): decides from the task's request
 * time and the configuration whether the window is over, the escalation is due, a reminder is due,
 * and how long the next wait is. Everything it does is recorded once however often it is retried
 * (see sendReminder and escalateTask). A task already closed (completed by the last click while no
 * token was stored, cancelled) answers `done`.
 */
export async function reviewCheckpoint(
  input: ReviewCheckpointInput,
  services: Services,
): Promise<ReviewCheckpointOutput> {
  const { campaignId, reviewer } = input;
  const task = await services.store.tasks.get(campaignId, reviewer);
  if (!task) throw new TransientError(`no review task for ${reviewer} in campaign ${campaignId}`);
  const base = { campaignId, reviewer };
  if (task.status !== 'awaiting' && task.status !== 'pending') {
    return { ...base, next: 'done', waitSeconds: 0, did: [] };
  }
  if (!task.requestedAt) {
    throw new ReviewNotRequestedError(`the review task of ${reviewer} has no request time`);
  }
  const hourSeconds = hourSecondsOf(services);
  const position = calendarPosition(
    reviewCalendar(services.config),
    new Date(task.requestedAt),
    services.now(),
    hourSeconds,
  );
  if (position.due.some((moment) => moment.kind === 'close') || !position.next) {
    return { ...base, next: 'close', waitSeconds: 0, did: [] };
  }
  const did: ReviewCheckpointOutput['did'] = [];
  let current = task;
  if (position.due.some((moment) => moment.kind === 'escalation') && !task.escalatedAt) {
    await escalateTask(services, task);
    did.push('escalation');
    current = (await services.store.tasks.get(campaignId, reviewer)) ?? task;
  }
  // Only the latest reminder due: a checkpoint that ran late does not send the missed ones in a row.
  const reminder = position.due.filter((moment) => moment.kind === 'reminder').at(-1);
  if (reminder?.kind === 'reminder' && (current.remindersSent ?? 0) < reminder.number) {
    const outcome = await sendReminder(services, current, reminder.number);
    if (outcome.status === 'sent') did.push('reminder');
  }
  return { ...base, next: 'wait', waitSeconds: position.next.waitSeconds, did };
}
