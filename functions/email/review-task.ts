import type { AccessReviewConfig } from '../core/config';
import type { Services } from '../runtime/services';
import type { StoredGrant } from '../store/grants';
import { type EmailOutcome, sendOnce } from './once';
import { type Block, capRows, type RenderedEmail, renderEmail } from './render';

/**
 * The review task, and its reminders, by email, for a reviewer who cannot be reached in Slack
 * (`notifications.email.reviewTasks`, default on).
 *
 * Nobody decides by email. A decision is a signed Slack interaction checked against the person
 * assigned; a link in an email would decide for whoever holds it (a forwarded message, a mail
 * scanner that follows links), so these emails carry none. They list the grants and the deadline
 * and say what happens to grants nobody decides: escalation to the next eligible reviewer in Slack
 * when configured, then the end-of-window policy, each recorded in the chain as such. The person
 * can act by telling the security team, or a colleague in Slack, what should stay and what should
 * go; or by joining Slack with this address, which puts them in the next campaign's Slack review.
 */

export interface ReviewTaskEmail {
  campaignId: string;
  /** The task's reviewer (GitHub login). In the chain's email_sent event; the address is not. */
  reviewer: string;
  /** Their address (people[].email): the one recipient. */
  email: string;
  /** The grants the email lists: the task's, or for a reminder those still undecided. */
  grants: readonly StoredGrant[];
  /** The end of the review window (ISO). */
  dueAt: string;
  /** The task's size when the email lists fewer (a reminder); default grants.length. */
  grantCount?: number;
}

export interface ReminderEmail extends ReviewTaskEmail {
  /** Which reminder (1-based). */
  number: number;
  /** How many reminders the calendar has, if known ("reminder 2 of 3"). */
  reminders?: number;
}

/** Whether review tasks go by email at all: a sender, an email section, reviewTasks not off. */
export function reviewTasksByEmail(services: Services): boolean {
  const email = services.config.notifications?.email;
  return Boolean(services.email && email && email.reviewTasks !== false);
}

/** Sends the review task once per campaign and reviewer; `email_sent` `{ purpose: 'review_task', to: 1, reviewer }`. */
export async function emailReviewTask(services: Services, task: ReviewTaskEmail): Promise<EmailOutcome> {
  if (!reviewTasksByEmail(services)) return 'not_configured';
  return sendOnce(
    services,
    { campaignId: task.campaignId, purpose: 'review_task', reviewer: task.reviewer },
    () => ({
      purpose: 'review_task',
      to: [task.email],
      ...reviewTaskEmail(services.config, task),
    }),
  );
}

/** Sends reminder `number` once per campaign, reviewer and number. */
export async function emailReminder(services: Services, reminder: ReminderEmail): Promise<EmailOutcome> {
  if (!reviewTasksByEmail(services)) return 'not_configured';
  return sendOnce(
    services,
    {
      campaignId: reminder.campaignId,
      purpose: 'reminder',
      reviewer: reminder.reviewer,
      number: reminder.number,
    },
    () => ({ purpose: 'reminder', to: [reminder.email], ...reminderEmail(services.config, reminder) }),
  );
}

function day(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** What happens to grants nobody decides, as this configuration says. */
export function whatHappensUndecided(config: AccessReviewConfig): string[] {
  const lines: string[] = [];
  const escalate = config.review.escalateAfterHours;
  if (escalate !== undefined) {
    lines.push(
      `${escalate} hours after the request, grants still undecided move to the next eligible reviewer in Slack (never the person who holds the access); the evidence records the move.`,
    );
  }
  const policy = config.review.endOfWindow;
  const words = {
    leave: 'stay undecided and are reported to the security team',
    keep: 'are kept',
    revoke: 'are revoked',
  };
  const byKind = Object.entries(policy.byGrantKind)
    .filter(([, action]) => action !== undefined && action !== policy.default)
    .map(([kind, action]) => `${kind}: ${words[action as keyof typeof words]}`);
  lines.push(
    `When the review window closes, grants nobody decided ${words[policy.default]}${byKind.length > 0 ? ` (except ${byKind.join('; ')})` : ''}; a kept or revoked one is recorded as the policy's decision, not yours.`,
  );
  return lines;
}

function grantRows(grants: readonly StoredGrant[]): { rows: string[][]; omitted: number } {
  const sorted = [...grants].sort(
    (a, b) => a.resource.localeCompare(b.resource) || a.principal.localeCompare(b.principal),
  );
  return capRows(
    sorted.map((grant) => [
      grant.resource,
      grant.principal,
      grant.entitlement,
      grant.grantKind,
      [
        ...(grant.flags ?? []),
        ...(grant.context?.newSinceLastCampaign ? ['new since the last campaign'] : []),
        ...(grant.context?.lastDecision ? [`last campaign: ${grant.context.lastDecision}`] : []),
      ].join(', '),
    ]),
  );
}

function grantTable(caption: string, grants: readonly StoredGrant[]): Block {
  const { rows, omitted } = grantRows(grants);
  return { kind: 'table', caption, columns: ['Resource', 'Who', 'Access', 'Kind', 'Notes'], rows, omitted };
}

const NO_DECISION_BY_EMAIL =
  'You cannot decide by email, and nothing in this email keeps or removes access: decisions are made in Slack, where the person deciding is known, and we could not find you in Slack by this address.';

const FOOTER =
  'Sent by access-review because the access review configuration (people) names you as the reviewer of these grants. This email carries no links: nothing here can decide for you.';

export function reviewTaskEmail(config: AccessReviewConfig, task: ReviewTaskEmail): RenderedEmail {
  const count = task.grantCount ?? task.grants.length;
  return renderEmail({
    title: `Access review ${task.campaignId}: ${plural(count, 'grant')} to review by ${day(task.dueAt)}`,
    blocks: [
      {
        kind: 'paragraph',
        text: `You are asked to review ${plural(count, 'grant')} of access to ${config.github.organization}'s systems (campaign ${task.campaignId}) by ${day(task.dueAt)}: should each person or key keep the access, or lose it?`,
      },
      { kind: 'paragraph', text: NO_DECISION_BY_EMAIL },
      { kind: 'heading', text: 'What you can do' },
      {
        kind: 'list',
        items: [
          'Tell your security team, or a colleague who reviews in Slack, which of these should stay and which should go.',
          'Join Slack with this email address: the next campaign then asks you there, where you can decide each grant yourself.',
        ],
      },
      { kind: 'heading', text: 'If nobody decides' },
      { kind: 'list', items: whatHappensUndecided(config) },
      { kind: 'heading', text: 'The grants' },
      grantTable(`${plural(count, 'grant')} for you to review`, task.grants),
    ],
    footer: FOOTER,
  });
}

export function reminderEmail(config: AccessReviewConfig, reminder: ReminderEmail): RenderedEmail {
  const left = reminder.grants.length;
  const which = reminder.reminders ? `${reminder.number} of ${reminder.reminders}` : String(reminder.number);
  return renderEmail({
    title: `Reminder ${which}: access review ${reminder.campaignId}, ${plural(left, 'grant')} left, due ${day(reminder.dueAt)}`,
    blocks: [
      {
        kind: 'paragraph',
        text: `${plural(left, 'grant')} you were asked to review in campaign ${reminder.campaignId} ${left === 1 ? 'is' : 'are'} still undecided. The review closes ${day(reminder.dueAt)}.`,
      },
      { kind: 'paragraph', text: NO_DECISION_BY_EMAIL },
      { kind: 'heading', text: 'If nobody decides' },
      { kind: 'list', items: whatHappensUndecided(config) },
      { kind: 'heading', text: 'Still undecided' },
      grantTable(`${plural(left, 'grant')} still undecided`, reminder.grants),
    ],
    footer: FOOTER,
  });
}
