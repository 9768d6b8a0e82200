import * as z from 'zod';
import { AccessReviewError, classifyError, MalformedRequestError } from '../core/errors';
import { failureNoticeEmail } from '../email/failure';
import type { EmailSender } from '../email/types';
import type { Services } from '../runtime/services';
import {
  clip,
  type FailureNotice,
  failureNoticeBlocks,
  failureNoticeText,
  MAX_MESSAGE_CHARS,
  redactSecrets,
} from '../slack/failure-notice';
import type { Campaign } from '../store/campaigns';
import type { Decision } from '../store/decisions';
import {
  type ClaimResult,
  FailureNoticeLedger,
  findCampaignByExecution,
  latestEventOfType,
  type NoticeChannel,
} from '../store/failure-notices';
import type { Revocation } from '../store/outcomes';
import { queryPages } from '../store/query';
import { keys, type TableRef } from '../store/table';

/**
 * EventBridge's "Step Functions Execution Status Change" event, as the failure rule delivers it
 * (status FAILED, TIMED_OUT or ABORTED). Only the fields the notice uses are read; `input` is
 * not: it holds no campaign id, and nothing of it belongs in a notice.
 */
const executionStatusChange = z.object({
  detail: z.object({
    executionArn: z.string().regex(/^arn:aws[a-z-]*:states:[^:]+:\d{12}:execution:[^:]+:[^:]+$/, {
      message: 'must be a Step Functions execution ARN',
    }),
    name: z.string().min(1),
    status: z.string().min(1),
    startDate: z.number().int().nonnegative(),
    stopDate: z.number().int().nonnegative().nullish(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
    /** How many times the execution was redriven: each redrive that fails again is a new notice. */
    redriveCount: z.number().int().nonnegative().nullish(),
  }),
});

export type ExecutionStatusChangeEvent = z.input<typeof executionStatusChange>;

/** The sender moved to functions/email/sender.ts; re-exported for callers that still import it here. */
export { sesEmailSender } from '../email/sender';
export type { EmailSender } from '../email/types';

export interface NotifyFailureDependencies {
  /**
   * The table: the campaign is found by execution name (campaigns index) and the
   * failure_notified marker is kept here.
   */
  table: TableRef;
  /**
   * The SES sender (functions/email/sender.ts); `services.email` when not given. Neither: no
   * `notifications.email` is configured.
   */
  email?: EmailSender;
  /** How to resume the execution; default: Step Functions redrive with the AWS CLI. */
  resumeInstruction?: (executionArn: string) => string;
}

export type ChannelOutcome = ClaimResult | 'sent' | 'failed' | 'not_configured';

export interface NotifyFailureResult {
  executionArn: string;
  campaignId: string | null;
  email: ChannelOutcome;
  slack: ChannelOutcome;
}

/** Every configured channel that was tried failed to send; the errors are its causes. */
export class FailureNoticeError extends AccessReviewError {}

/** The event the failure_notified marker names a campaign's failure with (written by the workflow). */
const CAMPAIGN_FAILED = 'campaign_failed';

export function redriveInstruction(executionArn: string): string {
  return `aws stepfunctions redrive-execution --execution-arn ${executionArn}`;
}

/**
 * Tells the security team that a campaign's execution failed, timed out or was aborted: one email
 * (SES) and one Slack message to the configured channel, each tried whatever happens to the other.
 * A channel that was already sent for this execution (EventBridge delivers at least once, Lambda
 * retries) is not sent again. If any channel fails it throws after trying the others, so Lambda
 * retries the event and the retry sends only what is still missing; the SNS topic has had the
 * event from EventBridge either way.
 */
export async function notifyFailure(
  event: unknown,
  services: Services,
  dependencies: NotifyFailureDependencies,
): Promise<NotifyFailureResult> {
  const parsed = executionStatusChange.safeParse(event);
  if (!parsed.success) {
    throw new MalformedRequestError(
      `not a Step Functions execution status change: ${parsed.error.issues
        .map((issue) => `detail.${issue.path.slice(1).join('.')}: ${issue.message}`)
        .join('; ')}`,
      { cause: parsed.error },
    );
  }
  const { detail } = parsed.data;
  const notice = await gatherNotice(detail, dependencies);
  const ledger = new FailureNoticeLedger(dependencies.table);
  const marker = {
    executionArn: detail.executionArn,
    redriveCount: detail.redriveCount ?? 0,
    campaignId: notice.campaignId,
    status: detail.status,
  };
  const failures: unknown[] = [];

  const send = async (channel: NoticeChannel, deliver: () => Promise<void>): Promise<ChannelOutcome> => {
    const claim = await ledger.claim(marker, channel, services.now());
    if (claim !== 'claimed') return claim;
    try {
      await deliver();
    } catch (error) {
      await ledger.release(marker.executionArn, marker.redriveCount, channel);
      failures.push(error);
      services.log.error('failure notice not sent', {
        channel,
        executionArn: detail.executionArn,
        error: error instanceof Error ? error.name : 'unknown',
      });
      return 'failed';
    }
    await ledger.markSent(marker.executionArn, marker.redriveCount, channel, services.now());
    return 'sent';
  };

  const email = dependencies.email ?? services.email;
  const recipients = services.config.notifications?.email?.to ?? [];
  const channel = services.config.notifications?.slackChannel;
  // Both at once: neither waits for, nor depends on, the other.
  const [emailOutcome, slackOutcome] = await Promise.all([
    email && recipients.length > 0
      ? send('email', async () => {
          await email.send({ purpose: 'failure', to: recipients, ...failureNoticeEmail(notice) });
        })
      : Promise.resolve<ChannelOutcome>('not_configured'),
    channel
      ? send('slack', async () => {
          const slack = await services.slack();
          await slack.chat.postMessage({
            channel,
            text: failureNoticeText(notice),
            blocks: failureNoticeBlocks(notice),
            unfurl_links: false,
          });
        })
      : Promise.resolve<ChannelOutcome>('not_configured'),
  ]);
  const result: NotifyFailureResult = {
    executionArn: detail.executionArn,
    campaignId: notice.campaignId,
    email: emailOutcome,
    slack: slackOutcome,
  };
  services.log.info('failure notice', { ...result });
  if (failures.length > 0) {
    throw new FailureNoticeError(
      `the failure notice for ${detail.executionArn} was not sent by ${[
        emailOutcome === 'failed' ? 'email' : undefined,
        slackOutcome === 'failed' ? 'Slack' : undefined,
      ]
        .filter(Boolean)
        .join(' and ')}; the retry sends only what is missing`,
      { cause: failures.length === 1 ? failures[0] : new AggregateError(failures) },
    );
  }
  return result;
}

type ExecutionDetail = z.output<typeof executionStatusChange>['detail'];

async function gatherNotice(
  detail: ExecutionDetail,
  dependencies: NotifyFailureDependencies,
): Promise<FailureNotice> {
  const startedAt = new Date(detail.startDate);
  const campaign = await findCampaignByExecution(dependencies.table, detail.name, startedAt);
  const failed = campaign
    ? await latestEventOfType(dependencies.table, campaign.campaignId, CAMPAIGN_FAILED)
    : undefined;
  // A campaign_failed of an earlier attempt does not explain this one (a redrive that timed out).
  const attempt = failed?.data.attempt;
  const recorded = (
    failed && (typeof attempt !== 'number' || attempt === (detail.redriveCount ?? 0)) ? failed.data : {}
  ) as Record<string, unknown>;
  const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
  const error =
    text(recorded.error) ?? detail.error ?? (detail.status === 'TIMED_OUT' ? 'States.Timeout' : null);
  const message =
    text(recorded.message) ??
    messageOfCause(text(recorded.cause) ?? detail.cause ?? null) ??
    defaultMessage(detail.status);
  return {
    campaignId: campaign?.campaignId ?? null,
    organization: campaign?.organization ?? null,
    campaignStatus: campaignStatusOf(campaign),
    executionArn: detail.executionArn,
    executionName: detail.name,
    executionStatus: detail.status,
    state: text(recorded.state)
      ? `${text(recorded.state)}${text(recorded.reviewer) ? ` (reviewer ${text(recorded.reviewer)})` : ''}`
      : null,
    // Unrecorded (timed out, aborted, failed outside a Catch): classified from the error's name.
    classification: text(recorded.classification) ?? (error ? classifyError({ Error: error }) : null),
    error: error ? clip(redactSecrets(error), 200) : null,
    message: message ? clip(redactSecrets(message), MAX_MESSAGE_CHARS) : null,
    pendingRevocations: campaign
      ? await pendingRevocations(dependencies.table, campaign.campaignId, recorded.counts)
      : null,
    startedAt: startedAt.toISOString(),
    stoppedAt: detail.stopDate ? new Date(detail.stopDate).toISOString() : null,
    resume: (dependencies.resumeInstruction ?? redriveInstruction)(detail.executionArn),
  };
}

/** `failed (was revoking)` for a campaign the workflow marked failed; its status otherwise. */
function campaignStatusOf(campaign: Campaign | undefined): string | null {
  if (!campaign) return null;
  const before = (campaign as Campaign & { failure?: { statusBefore?: unknown } }).failure?.statusBefore;
  return typeof before === 'string' && before !== campaign.status
    ? `${campaign.status} (was ${before})`
    : campaign.status;
}

/**
 * A Lambda error's cause is `{"errorType","errorMessage","trace":[…]}`: the message is what a
 * person needs; the stack trace stays in the execution history.
 */
function messageOfCause(cause: string | null): string | null {
  if (cause === null || cause === '') return null;
  try {
    const parsed: unknown = JSON.parse(cause);
    if (parsed && typeof parsed === 'object' && 'errorMessage' in parsed) {
      const message = (parsed as { errorMessage: unknown }).errorMessage;
      if (typeof message === 'string') return message;
    }
  } catch {
    // Not JSON: a cause written by a Fail state or by Step Functions itself.
  }
  return cause;
}

function defaultMessage(status: string): string | null {
  if (status === 'TIMED_OUT') return 'the execution ran longer than the state machine allows';
  if (status === 'ABORTED') return 'someone stopped the execution (StopExecution)';
  return null;
}

/** The counts of campaign_failed that say how far the revocations got (functions/evidence/summary.ts). */
const FINISHED_REVOCATION_COUNTS = [
  'revocationsApplied',
  'revocationsFailed',
  'revocationsRejected',
  'revocationsRefused',
  'remediationsRequired',
] as const;

/**
 * Revoke decisions whose revocation was not carried out: no outcome yet, or interrupted while
 * pending. From the counts the workflow recorded with campaign_failed when it has them; otherwise
 * (a timed-out or aborted execution records nothing) by reading the decisions and revocations page
 * by page, keeping only the ids of revoke decisions.
 */
async function pendingRevocations(table: TableRef, campaignId: string, counts: unknown): Promise<number> {
  if (counts && typeof counts === 'object') {
    const recorded = counts as Record<string, unknown>;
    const numbers = ['revoked', ...FINISHED_REVOCATION_COUNTS].map((name) => recorded[name]);
    if (numbers.every((value) => typeof value === 'number')) {
      const [revoked, ...finished] = numbers as number[];
      return Math.max(0, (revoked ?? 0) - finished.reduce((sum, count) => sum + count, 0));
    }
  }
  const revoked = new Set<string>();
  for await (const page of queryPages(table, keys.campaign(campaignId), 'DECISION#')) {
    for (const decision of page as unknown as Decision[]) {
      if (decision.decision === 'revoke') revoked.add(decision.grantId);
    }
  }
  for await (const page of queryPages(table, keys.campaign(campaignId), 'REVOCATION#')) {
    for (const revocation of page as unknown as Revocation[]) {
      if (revocation.status !== 'pending') revoked.delete(revocation.grantId);
    }
  }
  return revoked.size;
}
