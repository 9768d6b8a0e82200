import { revocationApprovers } from '../core/config';
import { AccessReviewError, TransientError } from '../core/errors';
import type { Services } from '../runtime/services';
import { buildApprovalMessage, type GuardedRevocation } from '../slack/approval-blocks';
import type { ApprovalRequest, Approver, StoredGuardSummary } from '../store/approvals';

export interface RequestRevocationApprovalInput {
  campaignId: string;
  /** `$$.Task.Token`. Stored in the table and nowhere else: not in Slack, not in logs. */
  taskToken: string;
}

/** CheckRevocations has not stored a verdict: nothing may be asked about, or applied, unchecked. */
export class GuardVerdictMissingError extends AccessReviewError {}

/** Nobody of the security team can be reached in Slack: the Catch rejects the held revocations. */
export class NoApproverReachableError extends AccessReviewError {}

/**
 * Slack refused the message itself (`channel_not_found`, `not_in_channel`, …): asking again will not
 * help, so this is not retried; the Catch rejects the held revocations, with this name as the reason.
 */
export class ApprovalRequestNotSentError extends AccessReviewError {}

/** The verdict's figures and its held and forbidden revocations with their grants. */
export async function loadGuardedRevocations(
  services: Services,
  campaignId: string,
): Promise<{ summary: StoredGuardSummary; held: GuardedRevocation[]; forbidden: GuardedRevocation[] }> {
  const { store } = services;
  const summary = await store.approvals.getGuardSummary(campaignId);
  if (!summary) throw new GuardVerdictMissingError(`campaign ${campaignId} has no revocation guard verdict`);
  const held: GuardedRevocation[] = [];
  const forbidden: GuardedRevocation[] = [];
  for (const item of await store.approvals.listGuardItems(campaignId)) {
    if (item.outcome === 'allowed') continue;
    const grant = await store.grants.get(campaignId, item.grantId);
    if (!grant) continue;
    (item.outcome === 'held' ? held : forbidden).push({ grant, reasons: item.reasons });
  }
  const order = (a: GuardedRevocation, b: GuardedRevocation) =>
    a.grant.resource.localeCompare(b.grant.resource) || a.grant.principal.localeCompare(b.grant.principal);
  return { summary, held: held.sort(order), forbidden: forbidden.sort(order) };
}

/** Draws the message as the request now stands (awaiting, or decided). */
export async function approvalMessage(services: Services, approval: ApprovalRequest) {
  const guarded = await loadGuardedRevocations(services, approval.campaignId);
  return buildApprovalMessage({ ...guarded, approval });
}

/** Redraws every copy of the request; a failed redraw is logged, never fatal (the answer is safe). */
export async function redrawApprovalMessages(services: Services, approval: ApprovalRequest): Promise<void> {
  if (approval.messages.length === 0) return;
  try {
    const slack = await services.slack();
    const message = await approvalMessage(services, approval);
    for (const { channelId, ts } of approval.messages) {
      await slack.chat.update({ channel: channelId, ts, text: message.text, blocks: message.blocks });
    }
  } catch (error) {
    services.log.warn('could not update the approval message', {
      campaignId: approval.campaignId,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/**
 * Asks the security team, in Slack, to approve or reject the revocations the guard holds, and parks
 * the workflow's task token. The workflow resumes when one of them decides (the approval listener
 * sends the token) or the approval window closes (the Catch rejects the held revocations).
 */
export async function requestRevocationApproval(
  input: RequestRevocationApprovalInput,
  services: Services,
): Promise<Record<string, never>> {
  const { campaignId, taskToken } = input;
  const { store, config } = services;
  const guarded = await loadGuardedRevocations(services, campaignId);
  const approvers = await findApprovers(services, campaignId);
  const now = services.now();
  const dueAt = new Date(now.getTime() + config.revocationGuard.approvalWindowHours * 3_600_000);
  const approval = await store.approvals.open(
    {
      campaignId,
      approvers,
      heldCount: guarded.held.length,
      requestedAt: now.toISOString(),
      dueAt: dueAt.toISOString(),
    },
    taskToken,
  );
  if (approval.status !== 'awaiting') {
    // Decided before this (retried) request: resume at once with what was decided.
    await services.tasks.succeed(taskToken, { decision: approval.status });
    return {};
  }
  if (approval.messages.length > 0) {
    // A retried request: the team already has the message; refresh it instead of sending another.
    await redrawApprovalMessages(services, approval);
    return {};
  }
  const slack = await services.slack();
  const message = buildApprovalMessage({ ...guarded, approval });
  const channel = config.revocationGuard.channel;
  const targets: string[] = [];
  if (channel) targets.push(channel);
  else {
    for (const approver of approval.approvers) {
      const opened = await slack.conversations.open({ users: approver.slackUserId });
      if (!opened.channel?.id) throw new TransientError(`Slack opened no DM channel for ${approver.login}`);
      targets.push(opened.channel.id);
    }
  }
  const messages: Array<{ channelId: string; ts: string }> = [];
  for (const target of targets) {
    const posted = await slack.chat
      .postMessage({ channel: target, text: message.text, blocks: message.blocks })
      .catch((error: unknown) => {
        const code = (error as { data?: { error?: unknown } }).data?.error;
        if (typeof code !== 'string') throw error;
        throw new ApprovalRequestNotSentError(`Slack refused the approval request to ${target}: ${code}`, {
          cause: error,
        });
      });
    if (!posted.ts || !posted.channel) throw new TransientError('Slack accepted no approval message');
    messages.push({ channelId: posted.channel, ts: posted.ts });
  }
  await store.approvals.recordMessages(campaignId, messages);
  await store.events.appendOnce(
    campaignId,
    'revocation_approval_requested',
    {
      approvers: approval.approvers,
      channel: channel ?? null,
      heldCount: guarded.held.length,
      dueAt: approval.dueAt,
    },
    services.now(),
  );
  services.progress(
    `Asked the security team (${approval.approvers.map((a) => a.login).join(', ')}) in Slack to approve or reject ${guarded.held.length} held revocation(s)`,
  );
  return {};
}

/** The configured approvers who can be found in Slack by their email, as reviewers are. */
async function findApprovers(services: Services, campaignId: string): Promise<Approver[]> {
  const { config } = services;
  const slack = await services.slack();
  const approvers: Approver[] = [];
  for (const login of revocationApprovers(config)) {
    const person = config.people.find((p) => p.github.toLowerCase() === login.toLowerCase());
    if (!person) continue;
    try {
      const found = await slack.users.lookupByEmail({ email: person.email });
      if (found.user?.id) approvers.push({ login: person.github, slackUserId: found.user.id });
    } catch (error) {
      const code = (error as { data?: { error?: unknown } }).data?.error;
      if (code !== 'users_not_found') {
        throw new TransientError(
          `Slack lookup for approver ${login} failed (${String(code ?? 'no error code')})`,
          {
            cause: error,
          },
        );
      }
      services.log.warn('approver not found in Slack', { campaignId, approver: login });
    }
  }
  if (approvers.length === 0) {
    throw new NoApproverReachableError(
      `none of the security team (${revocationApprovers(config).join(', ')}) could be found in Slack`,
    );
  }
  return approvers;
}
