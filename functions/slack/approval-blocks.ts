import type { ActionsBlock, Button, ContextBlock, HeaderBlock, KnownBlock, SectionBlock } from '@slack/types';
import { MalformedRequestError } from '../core/errors';
import type { Grant } from '../core/grant';
import { briefNames, describeRevokeEffect } from '../core/grant-kinds';
import { parseJsonRecord } from '../core/records';
import type { GuardReason } from '../core/revocation-guard';
import type { ApprovalRequest, StoredGuardSummary } from '../store/approvals';

/**
 * The security team's message about a batch of revocations the guard holds: what the campaign
 * would revoke, each held revocation and why it is held, what is never revoked, and Approve /
 * Reject. Pure; RequestRevocationApproval posts it and the approval listener redraws it.
 *
 * A button's value carries the campaign id and nothing else: the task token stays in the table,
 * and who may decide is read from the table, never from the request.
 */

/** Action ids start with this (functions/slack/approval-listeners.ts re-exports it). */
export const APPROVAL_ACTION_PREFIX = 'guard_';
export const APPROVE_ACTION_ID = `${APPROVAL_ACTION_PREFIX}approve`;
export const REJECT_ACTION_ID = `${APPROVAL_ACTION_PREFIX}reject`;

/** Held revocations listed one per section; the rest are counted (the evidence lists them all). */
export const MAX_LISTED_HELD = 20;
const MAX_LISTED_FORBIDDEN = 5;
const SECTION_TEXT_MAX = 2900;
const CONFIRM_TEXT_MAX = 300;

export interface GuardedRevocation {
  grant: Grant;
  reasons: GuardReason[];
}

export interface ApprovalMessageInput {
  summary: StoredGuardSummary;
  held: GuardedRevocation[];
  forbidden: GuardedRevocation[];
  approval: Pick<
    ApprovalRequest,
    'campaignId' | 'status' | 'approvers' | 'dueAt' | 'decidedAt' | 'decidedBy' | 'expiredReason'
  >;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Slack mrkdwn treats &, < and > specially; names from GitHub and AWS are shown as typed. */
function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

export function approvalButtonValue(campaignId: string): string {
  return JSON.stringify({ c: campaignId });
}

/** The campaign a button names; anything else is refused (prototype keys included). */
export function parseApprovalButtonValue(value: string): { campaignId: string } {
  let parsed: unknown;
  try {
    parsed = parseJsonRecord(value, 'approval button value');
  } catch (error) {
    throw new MalformedRequestError('an approval button value that is not JSON', { cause: error });
  }
  const campaignId = (parsed as { c?: unknown } | null)?.c;
  if (typeof campaignId !== 'string' || campaignId === '' || Object.keys(parsed as object).length !== 1) {
    throw new MalformedRequestError('an approval button value without a campaign id');
  }
  return { campaignId };
}

function reasonsText(reasons: GuardReason[]): string {
  return reasons.map((reason) => reason.detail).join('; ');
}

function line(item: GuardedRevocation): string {
  const names = briefNames(item.grant);
  return `*${escapeMrkdwn(names.principal)}* ${escapeMrkdwn(item.grant.entitlement)} on ${escapeMrkdwn(names.resource)}\n${escapeMrkdwn(
    describeRevokeEffect(item.grant),
  )}\n_Held: ${escapeMrkdwn(reasonsText(item.reasons))}_`;
}

export function approvalSummaryText(summary: StoredGuardSummary): string {
  const { counts, limits } = summary;
  return (
    `Reviewers decided to revoke *${summary.revocations}* of ${summary.reviewable} reviewable grants ` +
    `(limit ${limits.maxRevokedPercent}%: ${summary.percentAllowance}; at most ${limits.maxPerPrincipal} per principal). ` +
    `*${counts.held}* revocation(s) wait for your approval, ${counts.allowed} go ahead as decided, ` +
    `${counts.forbidden} will never be applied (the tool's own identity).`
  );
}

function stateBlock(input: ApprovalMessageInput): KnownBlock {
  const { approval } = input;
  const who = approval.decidedBy
    ? `<@${approval.decidedBy.slackUserId}> (${escapeMrkdwn(approval.decidedBy.login)})`
    : '';
  const text =
    approval.status === 'approved'
      ? `:white_check_mark: *Approved* by ${who} at ${approval.decidedAt}: the held revocations are applied.`
      : approval.status === 'rejected'
        ? `:no_entry: *Rejected* by ${who} at ${approval.decidedAt}: the held revocations are not applied, and recorded as rejected.`
        : approval.status === 'expired'
          ? `:hourglass: *Closed without an answer* (${escapeMrkdwn(approval.expiredReason ?? 'no answer within the window')}): the held revocations are rejected.`
          : `Only ${approval.approvers.map((a) => `<@${a.slackUserId}>`).join(', ') || 'the security team'} can decide, once, before ${approval.dueAt}. Without an answer the held revocations are rejected.`;
  return { type: 'section', text: { type: 'mrkdwn', text } } satisfies SectionBlock;
}

function buttons(input: ApprovalMessageInput): ActionsBlock {
  const value = approvalButtonValue(input.approval.campaignId);
  const count = input.held.length;
  const approve: Button = {
    type: 'button',
    action_id: APPROVE_ACTION_ID,
    text: { type: 'plain_text', text: 'Approve', emoji: true },
    value,
    style: 'danger',
    confirm: {
      title: { type: 'plain_text', text: 'Approve these revocations?' },
      text: {
        type: 'plain_text',
        text: truncate(
          `All ${count} held revocation(s) will be applied at their source, as the reviewers decided. Your name is recorded in the evidence.`,
          CONFIRM_TEXT_MAX,
        ),
      },
      confirm: { type: 'plain_text', text: 'Approve' },
      deny: { type: 'plain_text', text: 'Cancel' },
      style: 'danger',
    },
  };
  const reject: Button = {
    type: 'button',
    action_id: REJECT_ACTION_ID,
    text: { type: 'plain_text', text: 'Reject', emoji: true },
    value,
    confirm: {
      title: { type: 'plain_text', text: 'Reject these revocations?' },
      text: {
        type: 'plain_text',
        text: truncate(
          `None of the ${count} held revocation(s) will be applied; each is recorded as rejected. The others go ahead.`,
          CONFIRM_TEXT_MAX,
        ),
      },
      confirm: { type: 'plain_text', text: 'Reject' },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  };
  return { type: 'actions', block_id: 'guard_decide', elements: [approve, reject] };
}

/** The message, within Slack's 50 blocks and 3000 characters a section for any batch size. */
export function buildApprovalMessage(input: ApprovalMessageInput): { text: string; blocks: KnownBlock[] } {
  const { summary, held, forbidden, approval } = input;
  const blocks: KnownBlock[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: 'Revocations held for approval', emoji: true },
    } satisfies HeaderBlock,
    {
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(approvalSummaryText(summary), SECTION_TEXT_MAX) },
    } satisfies SectionBlock,
  ];
  const listed = held.slice(0, MAX_LISTED_HELD);
  for (const item of listed) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(line(item), SECTION_TEXT_MAX) } });
  }
  if (held.length > listed.length) {
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `…and ${held.length - listed.length} more held revocation(s), each with its reasons in the evidence (revocation_guard_evaluated).`,
        },
      ],
    } satisfies ContextBlock);
  }
  if (forbidden.length > 0) {
    const shown = forbidden.slice(0, MAX_LISTED_FORBIDDEN).map((item) => {
      const names = briefNames(item.grant);
      return `• ${escapeMrkdwn(names.principal)} ${escapeMrkdwn(item.grant.entitlement)} on ${escapeMrkdwn(names.resource)}`;
    });
    const more = forbidden.length > shown.length ? `\n…and ${forbidden.length - shown.length} more` : '';
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncate(
          `*Never revoked, whatever is decided here* (access-review's own identity):\n${shown.join('\n')}${more}`,
          SECTION_TEXT_MAX,
        ),
      },
    });
  }
  blocks.push(stateBlock(input));
  if (approval.status === 'awaiting') blocks.push(buttons(input));
  const text =
    approval.status === 'awaiting'
      ? `${summary.counts.held} revocation(s) held for the security team's approval (campaign ${approval.campaignId})`
      : `Held revocations of campaign ${approval.campaignId}: ${approval.status}`;
  return { text, blocks };
}
