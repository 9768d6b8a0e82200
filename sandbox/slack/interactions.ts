import { createHash, createHmac } from 'node:crypto';
import type { BlockAction, ButtonAction } from '@slack/bolt';
import { NotFoundError } from '../../functions/core/errors';
import { interactiveElements, isRecord } from './blockKit';

/**
 * A simulated person clicking a button: the request Slack sends to an app's interactivity URL
 * (https://docs.slack.dev/interactivity/handling-user-interaction), signed the way Slack signs it
 * (https://docs.slack.dev/authentication/verifying-requests-from-slack).
 */

/** The message as the person sees it: what the sandbox stored, with Slack's block_ids. */
export interface InteractionMessage {
  ts: string;
  blocks: readonly unknown[];
  text?: string;
  /** The bot user that posted it. */
  user?: string;
  botId?: string;
  appId?: string;
}

export interface ClickButtonOptions {
  /** The app's interactivity endpoint (Bolt's HTTP receiver listens on `/slack/events`). */
  appUrl: string;
  signingSecret: string;
  user: { id: string; name: string };
  teamId: string;
  teamDomain?: string;
  apiAppId?: string;
  channelId: string;
  message: InteractionMessage;
  actionId: string;
  value: string;
  /** When the click happens; an old `now` makes a correctly signed but stale request. */
  now?: Date;
  /**
   * Where the app may answer. Pass `sandbox.responseUrlFor(...)`. The default points at a closed
   * loopback port, so an app that answers through it fails loudly instead of reaching the internet.
   */
  responseUrl?: string;
  /** Send this X-Slack-Signature instead of the correct one: a forged request. */
  signature?: string;
  /** The deprecated verification token Slack still includes; apps must not rely on it. */
  verificationToken?: string;
}

export interface SlackHttpRequest {
  headers: Record<string, string>;
  /** The raw body; the signature covers exactly these bytes. */
  body: string;
  payload: BlockAction<ButtonAction>;
}

/** The person tried to click a button that the message does not show. */
export class ButtonNotFoundError extends NotFoundError {}

/** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>` with the app's signing secret. */
export function signSlackRequest(body: string, secret: string, timestamp: number | string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/**
 * Builds the request without sending it, for receivers that are not HTTP servers (an
 * AwsLambdaReceiver takes the same headers and body inside a Lambda event).
 */
export function buildBlockActionsRequest(options: ClickButtonOptions): SlackHttpRequest {
  const now = options.now ?? new Date();
  const button = findButton(options.message.blocks, options.actionId, options.value);
  const seconds = Math.floor(now.getTime() / 1000);
  const micros = String((now.getTime() % 1000) * 1000).padStart(6, '0');
  const seed = createHash('sha256')
    .update(`${options.channelId}:${options.message.ts}:${options.actionId}:${now.toISOString()}`)
    .digest('hex');
  // Slack includes the element's style in the action; Bolt's ButtonAction type leaves it out.
  const action: ButtonAction & { style?: string } = {
    type: 'button',
    action_id: options.actionId,
    block_id: button.blockId,
    text: button.text,
    value: options.value,
    action_ts: `${seconds}.${micros}`,
    ...(button.style !== undefined ? { style: button.style } : {}),
  };
  const payload: BlockAction<ButtonAction> = {
    type: 'block_actions',
    user: {
      id: options.user.id,
      username: options.user.name,
      name: options.user.name,
      team_id: options.teamId,
    },
    api_app_id: options.apiAppId ?? 'A0SANDBOXAPP',
    token: options.verificationToken ?? 'sandbox-verification-token',
    container: {
      type: 'message',
      message_ts: options.message.ts,
      channel_id: options.channelId,
      is_ephemeral: false,
    },
    trigger_id: `${seconds}.${parseInt(seed.slice(0, 8), 16)}.${seed.slice(8, 40)}`,
    team: { id: options.teamId, domain: options.teamDomain ?? 'access-review-sandbox' },
    is_enterprise_install: false,
    // A DM's channel name in interaction payloads is "directmessage".
    channel: {
      id: options.channelId,
      name: options.channelId.startsWith('D') ? 'directmessage' : options.channelId,
    },
    message: {
      type: 'message',
      ts: options.message.ts,
      text: options.message.text ?? '',
      blocks: structuredClone(options.message.blocks),
      ...(options.message.user !== undefined ? { user: options.message.user } : {}),
      ...(options.message.botId !== undefined ? { bot_id: options.message.botId } : {}),
      ...(options.message.appId !== undefined ? { app_id: options.message.appId } : {}),
    },
    state: { values: {} },
    response_url: options.responseUrl ?? `http://127.0.0.1:9/actions/no-response-url-given`,
    actions: [action],
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(seconds);
  return {
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      'X-Slack-Request-Timestamp': timestamp,
      'X-Slack-Signature': options.signature ?? signSlackRequest(body, options.signingSecret, timestamp),
    },
    body,
    payload,
  };
}

/** Sends the click; resolves with whatever the app answered (Bolt answers 200, or 401 when unsigned). */
export async function clickButton(options: ClickButtonOptions): Promise<{ status: number; body: string }> {
  const request = buildBlockActionsRequest(options);
  const response = await fetch(options.appUrl, {
    method: 'POST',
    headers: request.headers,
    body: request.body,
  });
  return { status: response.status, body: await response.text() };
}

interface FoundButton {
  blockId: string;
  text: { type: 'plain_text'; text: string; emoji?: boolean };
  style?: string;
}

/** A person can only click a button the message shows, so a missing one is an error, not a guess. */
function findButton(blocks: readonly unknown[], actionId: string, value: string): FoundButton {
  for (const block of blocks) {
    if (!isRecord(block)) continue;
    for (const { element } of interactiveElements(block)) {
      if (element.type !== 'button' || element.action_id !== actionId || element.value !== value) continue;
      if (typeof block.block_id !== 'string') {
        throw new ButtonNotFoundError(
          `the block holding button ${actionId} has no block_id; pass the message as Slack stored it`,
        );
      }
      const text = isRecord(element.text) && typeof element.text.text === 'string' ? element.text.text : '';
      return {
        blockId: block.block_id,
        text: { type: 'plain_text', text, emoji: true },
        ...(typeof element.style === 'string' ? { style: element.style } : {}),
      };
    }
  }
  throw new ButtonNotFoundError(`the message shows no button with action_id ${actionId} and value ${value}`);
}
