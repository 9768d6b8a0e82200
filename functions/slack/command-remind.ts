import type { Services } from '../runtime/services';
import { sendReminder } from '../steps/reminders';
import { mapConcurrently } from '../steps/time-budget';
import type { RemindNow } from './command';

/** Reviewers reminded at once (each is a DM in its thread and a redraw, or an email). */
const REMIND_CONCURRENCY = 4;

/**
 * `/access-review remind`: the next reminder, now, for every task still open with undecided grants,
 * through the scheduled reminders' own path (functions/steps/reminders.ts): a reply in the
 * reviewer's review thread, or an email for someone not in Slack, recorded as `reminder_sent` with
 * its number. That number is used up: the scheduled reminder of the same number is not sent again.
 */
export const remindOpenTasksNow: RemindNow = async ({ campaignId }, services: Services) => {
  const open = (await services.store.tasks.list(campaignId)).filter(
    (task) => task.status === 'pending' || task.status === 'awaiting',
  );
  const reminded: Awaited<ReturnType<RemindNow>>['reminded'] = [];
  const failed: Awaited<ReturnType<RemindNow>>['failed'] = [];
  await mapConcurrently(open, REMIND_CONCURRENCY, async (task) => {
    try {
      const outcome = await sendReminder(services, task, (task.remindersSent ?? 0) + 1);
      if (outcome.status === 'sent' && outcome.channel) {
        reminded.push({ reviewer: task.reviewer, channel: outcome.channel, undecided: outcome.undecided });
      } else if (outcome.status === 'undeliverable') {
        failed.push({ reviewer: task.reviewer, error: 'no channel reaches them' });
      }
    } catch (error) {
      failed.push({ reviewer: task.reviewer, error: error instanceof Error ? error.name : 'an error' });
    }
  });
  reminded.sort((a, b) => a.reviewer.localeCompare(b.reviewer));
  failed.sort((a, b) => a.reviewer.localeCompare(b.reviewer));
  return { reminded, failed };
};
