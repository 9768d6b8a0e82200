import { classifyError, TransientError } from '../core/errors';
import type { Services } from '../runtime/services';
import { buildReviewMessage, escapeMrkdwn, type ReviewMessage, reviewPolicy } from '../slack/blocks';
import type { StoredGrant } from '../store/grants';
import { byResourceThenPrincipal, shownDecision } from './review-task';

/**
 * The handover DM: one message per person and campaign listing every grant handed to them (by
 * escalation or delegation) from anyone's review, with the same Keep/Revoke buttons as a review
 * message (functions/slack/blocks.ts draws both), so a click on it is checked and recorded exactly
 * like one on a reviewer's own message. Each handover adds a reply in its thread saying who handed
 * what and why; the message itself is redrawn to list what is theirs now.
 */

export type HandoverResult = 'posted' | 'redrawn' | 'unreachable' | 'failed';

export interface HandoverRequest {
  campaignId: string;
  assignee: string;
  assigneeSlackUserId: string | null;
  /** The handover that prompted this draw, said in the thread; absent for a plain redraw. */
  handed?: { from: string; by: 'escalation' | 'delegation'; count: number; note: string | null };
}

/** How long a second handover to the same person waits for the first one's message to exist. */
const FIRST_POST_WAIT_MS = 3_000;

/**
 * Posts the handover DM (the first time for this person and campaign) or redraws it, then replies
 * in its thread. Slack refusing the app (authentication, permission) is thrown; any other Slack
 * failure is logged and reported `failed`: the grants are handed over either way, and the next
 * handover or click redraws the message.
 */
export async function postHandover(services: Services, request: HandoverRequest): Promise<HandoverResult> {
  const { campaignId, assignee } = request;
  if (!request.assigneeSlackUserId) return 'unreachable';
  try {
    const slack = await services.slack();
    let head = await services.store.grants.getHandoverMessage(campaignId, assignee);
    let result: HandoverResult;
    if (!head?.messageTs && (await services.store.grants.claimHandoverMessage(campaignId, assignee))) {
      const message = await handoverMessage(services, campaignId, assignee);
      const opened = await slack.conversations.open({ users: request.assigneeSlackUserId });
      const channelId = opened.channel?.id;
      if (!channelId) throw new TransientError(`Slack opened no DM channel for ${assignee}`);
      const posted = await slack.chat.postMessage({
        channel: channelId,
        text: message.text,
        blocks: message.blocks,
      });
      if (!posted.ts) throw new TransientError(`Slack accepted no handover message for ${assignee}`);
      await services.store.grants.recordHandoverMessage(campaignId, assignee, channelId, posted.ts);
      head = { channelId, messageTs: posted.ts };
      // A handover that ran alongside this one may have added grants after the list was read.
      await redrawHandover(services, campaignId, assignee, message);
      result = 'posted';
    } else {
      head = head?.messageTs ? head : await waitForFirstPost(services, campaignId, assignee);
      if (!head?.messageTs) return 'failed';
      await redrawHandover(services, campaignId, assignee);
      result = 'redrawn';
    }
    if (request.handed && head.channelId && head.messageTs) {
      await slack.chat.postMessage({
        channel: head.channelId,
        thread_ts: head.messageTs,
        text: handoverNote(request.handed),
      });
    }
    return result;
  } catch (error) {
    const kind = classifyError(error);
    if (kind === 'authentication' || kind === 'permission') throw error;
    services.log.warn('handover message not posted', {
      campaignId,
      assignee,
      error: error instanceof Error ? error.message : String(error),
    });
    return 'failed';
  }
}

/**
 * Redraws the person's handover DM from the table (after a handover, or after a click on it).
 * `unless` skips the update when the message would not change. Returns false when there is none.
 */
export async function redrawHandover(
  services: Services,
  campaignId: string,
  assignee: string,
  unless?: ReviewMessage,
): Promise<boolean> {
  const head = await services.store.grants.getHandoverMessage(campaignId, assignee);
  if (!head?.channelId || !head.messageTs) return false;
  const message = await handoverMessage(services, campaignId, assignee);
  if (unless && JSON.stringify(unless) === JSON.stringify(message)) return true;
  const slack = await services.slack();
  await slack.chat.update({
    channel: head.channelId,
    ts: head.messageTs,
    text: message.text,
    blocks: message.blocks,
  });
  return true;
}

/** The message listing every grant of the campaign handed to `assignee` that is still theirs. */
export async function handoverMessage(
  services: Services,
  campaignId: string,
  assignee: string,
): Promise<ReviewMessage> {
  const grants = (await services.store.grants.handedTo(campaignId, assignee)).sort(byResourceThenPrincipal);
  const decisions = await services.store.decisions.getMany(
    campaignId,
    grants.map((grant) => grant.grantId),
  );
  // The earliest window among the tasks the grants come from: after it, a grant is no longer decided.
  const dues: string[] = [];
  for (const reviewer of new Set(grants.map((grant) => grant.reviewer ?? ''))) {
    const task = reviewer ? await services.store.tasks.get(campaignId, reviewer) : undefined;
    if (task?.dueAt) dues.push(task.dueAt);
  }
  const dueAt = dues.sort()[0] ?? services.now().toISOString();
  return buildReviewMessage({
    campaignId,
    reviewerLogin: assignee,
    dueAt,
    items: grants.map((grant) => {
      const decision = decisions.get(grant.grantId);
      return {
        grant,
        routingReason: handoverReason(grant),
        decision: decision ? shownDecision(decision) : undefined,
      };
    }),
    policy: reviewPolicy(services.config),
  });
}

/** "Why you" on a handed-over grant. */
export function handoverReason(
  grant: Pick<StoredGrant, 'reviewer' | 'assignedBy' | 'routingReason'>,
): string {
  const how = grant.assignedBy === 'escalation' ? 'escalated to you' : 'delegated to you';
  return `${how} from ${grant.reviewer ?? 'another reviewer'}'s review (first routed as: ${grant.routingReason ?? 'unknown'})`;
}

export function handoverNote(handed: NonNullable<HandoverRequest['handed']>): string {
  const grants = `${handed.count} grant${handed.count === 1 ? '' : 's'}`;
  const head =
    handed.by === 'escalation'
      ? `${grants} of ${handed.from}'s review ${handed.count === 1 ? 'was' : 'were'} escalated to you: ${handed.from} had not decided ${handed.count === 1 ? 'it' : 'them'} in time.`
      : `${handed.from} delegated ${grants} to you.`;
  // The note is the delegator's free text, posted as the app: a link or mention in it stays text.
  return handed.note ? `${head} Note: ${escapeMrkdwn(handed.note)}` : head;
}

async function waitForFirstPost(
  services: Services,
  campaignId: string,
  assignee: string,
): Promise<{ channelId?: string; messageTs?: string } | undefined> {
  const until = Date.now() + FIRST_POST_WAIT_MS;
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 150));
    const head = await services.store.grants.getHandoverMessage(campaignId, assignee);
    if (head?.messageTs) return head;
  }
  return undefined;
}
