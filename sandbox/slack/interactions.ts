import { createHash, createHmac } from 'node:crypto';
import type { BlockAction, ButtonAction, OverflowAction } from '@slack/bolt';
import { NotFoundError } from '../../functions/core/errors';
import { interactiveElements, isRecord } from './blockKit';

/**
 * A simulated person clicking a button or choosing an option of an overflow ("…") menu: the
 * request Slack sends to an app's interactivity URL
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

/** Who acts, where, on which message: the same for a click and a menu choice. */
export interface InteractionOptions {
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
  /** When the action happens; an old `now` makes a correctly signed but stale request. */
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

export interface ClickButtonOptions extends InteractionOptions {
  /** The button's value; the button must be in the message with this value. */
  value: string;
}

export interface ChooseOverflowOptionOptions extends InteractionOptions {
  /** The value of the chosen option; the menu must be in the message with this option. */
  optionValue: string;
}

export interface SlackHttpRequest<A extends ButtonAction | OverflowAction = ButtonAction> {
  headers: Record<string, string>;
  /** The raw body; the signature covers exactly these bytes. */
  body: string;
  payload: BlockAction<A>;
}

/** The person tried to click a button that the message does not show. */
export class ButtonNotFoundError extends NotFoundError {}

/** The person tried to choose an overflow menu option that the message does not show. */
export class OverflowOptionNotFoundError extends NotFoundError {}

/** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>` with the app's signing secret. */
export function signSlackRequest(body: string, secret: string, timestamp: number | string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/**
 * Builds a button click without sending it, for receivers that are not HTTP servers (an
 * AwsLambdaReceiver takes the same headers and body inside a Lambda event).
 */
export function buildBlockActionsRequest(options: ClickButtonOptions): SlackHttpRequest<ButtonAction> {
  const { blockId, element } = findElement(
    options.message.blocks,
    (e) => e.type === 'button' && e.action_id === options.actionId && e.value === options.value,
    `button with action_id ${options.actionId} and value ${options.value}`,
    ButtonNotFoundError,
  );
  return buildRequest(options, (actionTs) => {
    // Slack includes the element's style in the action; Bolt's ButtonAction type leaves it out.
    const action: ButtonAction & { style?: string } = {
      type: 'button',
      action_id: options.actionId,
      block_id: blockId,
      text: plainTextOf(element.text),
      value: options.value,
      action_ts: actionTs,
      ...(typeof element.style === 'string' ? { style: element.style } : {}),
    };
    return action;
  });
}

/** Builds an overflow menu choice without sending it: the action Slack sends for an `overflow`. */
export function buildOverflowActionRequest(
  options: ChooseOverflowOptionOptions,
): SlackHttpRequest<OverflowAction> {
  const { blockId, element } = findElement(
    options.message.blocks,
    (e) => e.type === 'overflow' && e.action_id === options.actionId,
    `overflow menu with action_id ${options.actionId}`,
    OverflowOptionNotFoundError,
  );
  const option = (Array.isArray(element.options) ? element.options : []).find(
    (candidate): candidate is Record<string, unknown> =>
      isRecord(candidate) && candidate.value === options.optionValue,
  );
  if (!option) {
    throw new OverflowOptionNotFoundError(
      `the overflow menu ${options.actionId} shows no option with value ${options.optionValue}`,
    );
  }
  return buildRequest(options, (actionTs) => ({
    type: 'overflow',
    action_id: options.actionId,
    block_id: blockId,
    selected_option: { text: plainTextOf(option.text), value: options.optionValue },
    action_ts: actionTs,
  }));
}

/** Sends the click; resolves with whatever the app answered (Bolt answers 200, or 401 when unsigned). */
export async function clickButton(options: ClickButtonOptions): Promise<{ status: number; body: string }> {
  return send(options.appUrl, buildBlockActionsRequest(options));
}

/** Sends the choice of an overflow menu option; resolves with whatever the app answered. */
export async function chooseOverflowOption(
  options: ChooseOverflowOptionOptions,
): Promise<{ status: number; body: string }> {
  return send(options.appUrl, buildOverflowActionRequest(options));
}

async function send(appUrl: string, request: SlackHttpRequest<ButtonAction | OverflowAction>) {
  const response = await fetch(appUrl, { method: 'POST', headers: request.headers, body: request.body });
  return { status: response.status, body: await response.text() };
}

/** The block_actions envelope around one action, form-encoded and signed as Slack does it. */
function buildRequest<A extends ButtonAction | OverflowAction>(
  options: InteractionOptions,
  makeAction: (actionTs: string) => A,
): SlackHttpRequest<A> {
  const now = options.now ?? new Date();
  const seconds = Math.floor(now.getTime() / 1000);
  const micros = String((now.getTime() % 1000) * 1000).padStart(6, '0');
  const seed = createHash('sha256')
    .update(`${options.channelId}:${options.message.ts}:${options.actionId}:${now.toISOString()}`)
    .digest('hex');
  const payload: BlockAction<A> = {
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
    actions: [makeAction(`${seconds}.${micros}`)],
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

/**
 * A person can only use an element the message shows, so a missing one is an error, not a guess.
 * The element's block must have a block_id, as every block Slack stores has.
 */
function findElement(
  blocks: readonly unknown[],
  matches: (element: Record<string, unknown>) => boolean,
  what: string,
  NotFound: new (message: string) => NotFoundError,
): { blockId: string; element: Record<string, unknown> } {
  for (const block of blocks) {
    if (!isRecord(block)) continue;
    for (const { element } of interactiveElements(block)) {
      if (!matches(element)) continue;
      if (typeof block.block_id !== 'string') {
        throw new NotFound(`the block holding ${what} has no block_id; pass the message as Slack stored it`);
      }
      return { blockId: block.block_id, element };
    }
  }
  throw new NotFound(`the message shows no ${what}`);
}

/** Slack sends an element's text back as plain_text with `emoji: true`. */
function plainTextOf(text: unknown): { type: 'plain_text'; text: string; emoji: boolean } {
  return {
    type: 'plain_text',
    text: isRecord(text) && typeof text.text === 'string' ? text.text : '',
    emoji: true,
  };
}
