import type { ContextBlock, HeaderBlock, KnownBlock, SectionBlock } from '@slack/types';

/**
 * What the security team is told when a campaign's execution fails, times out or is aborted:
 * which campaign, in which state, why (classification and message, secrets removed), what is
 * still pending, and how to resume it. Pure; functions/steps/notify-failure.ts gathers the facts
 * and sends the same notice by email (text) and to Slack (these blocks).
 */
export interface FailureNotice {
  /** Null when the execution failed before StartCampaign recorded a campaign. */
  campaignId: string | null;
  organization: string | null;
  /** The campaign's status when it stopped (`revoking`…), if there is a campaign. */
  campaignStatus: string | null;
  executionArn: string;
  executionName: string;
  /** FAILED, TIMED_OUT or ABORTED. */
  executionStatus: string;
  /** The state that failed, as the workflow recorded it; null when unknown. */
  state: string | null;
  /** authentication / permission / throttling / timeout / … as the workflow classified it. */
  classification: string | null;
  /** The error's name (`ConnectorError`, `States.Timeout`). */
  error: string | null;
  /** Why, in words: already clipped and stripped of anything that looks like a credential. */
  message: string | null;
  /** Revoke decisions not yet carried out at their source; null without a campaign. */
  pendingRevocations: number | null;
  startedAt: string;
  stoppedAt: string | null;
  /** How to resume (a command or an instruction). */
  resume: string;
}

/** A message of this length says why; the full error is in the execution history and the evidence. */
export const MAX_MESSAGE_CHARS = 600;

const SECTION_TEXT_MAX = 2900;

/**
 * What a credential looks like in an error message: Slack and GitHub tokens, AWS access keys,
 * JWTs, PEM private keys, bearer and basic credentials, and `password=` / `"secret": "…"` pairs.
 * Errors should never carry one; a notice that reaches inboxes and channels must not either.
 */
const SECRET_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, '[redacted]'],
  [/\bxox[abposr]-[A-Za-z0-9-]+/g, '[redacted]'],
  [/\bxapp-[A-Za-z0-9-]+/g, '[redacted]'],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}/g, '[redacted]'],
  [/\bgithub_pat_[A-Za-z0-9_]{20,}/g, '[redacted]'],
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, '[redacted]'],
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, '[redacted]'],
  [/\b(Bearer|Basic|token)\s+(?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]'],
  [
    /((?:password|passwd|secret|token|private_?key|signing_?secret|client_?secret|api_?key)["']?\s*[:=]\s*["']?)[^\s"',}]+/gi,
    '$1[redacted]',
  ],
  [/(https?:\/\/)[^\s/@:]+:[^\s/@]+@/gi, '$1[redacted]@'],
];

export function redactSecrets(text: string): string {
  let result = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Slack mrkdwn treats &, < and > specially; error text is shown as written. */
function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

const STATUS_WORDS: Record<string, string> = {
  FAILED: 'failed',
  TIMED_OUT: 'timed out',
  ABORTED: 'was aborted',
};

export function failureNoticeTitle(notice: FailureNotice): string {
  const what = notice.campaignId ? `Campaign ${notice.campaignId}` : `Execution ${notice.executionName}`;
  const how = STATUS_WORDS[notice.executionStatus] ?? notice.executionStatus.toLowerCase();
  return `${what} ${how}${notice.state ? ` in ${notice.state}` : ''}`;
}

function whyLine(notice: FailureNotice): string {
  const kind = notice.classification ?? 'unclassified';
  const error = notice.error ? ` (${notice.error})` : '';
  return `${kind}${error}: ${notice.message ?? 'no message was recorded'}`;
}

function pendingLine(notice: FailureNotice): string {
  if (notice.pendingRevocations === null) {
    return 'No campaign was recorded, so nothing was snapshotted, decided or revoked.';
  }
  if (notice.pendingRevocations === 0) return 'No revocation is pending.';
  const count = notice.pendingRevocations;
  return `${count} revocation${count === 1 ? ' is' : 's are'} pending: decided, not yet carried out at the source.`;
}

/** The notice as plain text: the email body, and the fallback text of the Slack message. */
export function failureNoticeText(notice: FailureNotice): string {
  const lines = [
    failureNoticeTitle(notice),
    '',
    `Why: ${whyLine(notice)}`,
    `Pending: ${pendingLine(notice)}`,
    `Resume: ${notice.resume}`,
    '',
    notice.campaignId
      ? `Campaign: ${notice.campaignId}${notice.organization ? ` (${notice.organization})` : ''}, status ${notice.campaignStatus ?? 'unknown'}`
      : 'Campaign: none recorded',
    `Execution: ${notice.executionArn}`,
    `Started: ${notice.startedAt}${notice.stoppedAt ? `, stopped: ${notice.stoppedAt}` : ''}`,
  ];
  return lines.join('\n');
}

export function failureNoticeBlocks(notice: FailureNotice): KnownBlock[] {
  const header: HeaderBlock = {
    type: 'header',
    text: { type: 'plain_text', text: clip(`⚠️ ${failureNoticeTitle(notice)}`, 150), emoji: true },
  };
  const section = (label: string, text: string): SectionBlock => ({
    type: 'section',
    text: { type: 'mrkdwn', text: clip(`*${label}*\n${escapeMrkdwn(text)}`, SECTION_TEXT_MAX) },
  });
  const resume: SectionBlock = {
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: clip(
        `*How to resume*\n\`${escapeMrkdwn(notice.resume).replaceAll('`', "'")}\``,
        SECTION_TEXT_MAX,
      ),
    },
  };
  const context: ContextBlock = {
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: clip(
          escapeMrkdwn(
            [
              notice.campaignId
                ? `Campaign ${notice.campaignId}${notice.organization ? ` (${notice.organization})` : ''}, status ${notice.campaignStatus ?? 'unknown'}`
                : 'No campaign recorded',
              `execution ${notice.executionArn}`,
              `started ${notice.startedAt}${notice.stoppedAt ? `, stopped ${notice.stoppedAt}` : ''}`,
            ].join(' · '),
          ),
          SECTION_TEXT_MAX,
        ),
      },
    ],
  };
  return [header, section('Why', whyLine(notice)), section('Pending', pendingLine(notice)), resume, context];
}
