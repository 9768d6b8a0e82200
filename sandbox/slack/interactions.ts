import { createHash, createHmac } from 'node:crypto';
import type {
  BlockAction,
  ButtonAction,
  EnvelopedEvent,
  OverflowAction,
  SlashCommand,
  StaticSelectAction,
  types,
} from '@slack/bolt';
import { MalformedRequestError, NotFoundError } from '../../functions/core/errors';
import { interactiveElements, isRecord } from './blockKit';
import type { ViewPayload, ViewStateValue } from './views';

type AppHomeOpenedEvent = types.AppHomeOpenedEvent;

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
  /**
   * The payload's trigger_id. Pass `sandbox.issueTrigger(user.id)` so the app can open a modal
   * with it (views.open); the default is well-formed but unknown to any sandbox, so views.open
   * refuses it as Slack refuses a trigger it never issued.
   */
  triggerId?: string;
}

export interface ClickButtonOptions extends InteractionOptions {
  /** The button's value; the button must be in the message with this value. */
  value: string;
}

export interface ChooseOverflowOptionOptions extends InteractionOptions {
  /** The value of the chosen option; the menu must be in the message with this option. */
  optionValue: string;
}

export interface ChooseSelectOptionOptions extends InteractionOptions {
  /** The value of the chosen option; the static select must be in the message with this option. */
  optionValue: string;
}

type MessageAction = ButtonAction | OverflowAction | StaticSelectAction;

export interface SlackHttpRequest<A extends MessageAction = ButtonAction> {
  headers: Record<string, string>;
  /** The raw body; the signature covers exactly these bytes. */
  body: string;
  payload: BlockAction<A>;
}

/** The person tried to click a button that the message does not show. */
export class ButtonNotFoundError extends NotFoundError {}

/** The person tried to choose an overflow menu option that the message does not show. */
export class OverflowOptionNotFoundError extends NotFoundError {}

/** The person tried to choose a select menu option that the message does not show. */
export class SelectOptionNotFoundError extends NotFoundError {}

/**
 * A view submission Slack's client would not send: a value for an input the view does not show,
 * an option the menu does not offer, a required input left empty, text outside its length limits.
 */
export class ViewInputError extends MalformedRequestError {}

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

/**
 * Builds the choice of an option in a `static_select` menu of a message (the block_actions payload
 * carries `selected_option`), without sending it.
 */
export function buildStaticSelectActionRequest(
  options: ChooseSelectOptionOptions,
): SlackHttpRequest<StaticSelectAction> {
  const { blockId, element } = findElement(
    options.message.blocks,
    (e) => e.type === 'static_select' && e.action_id === options.actionId,
    `select menu with action_id ${options.actionId}`,
    SelectOptionNotFoundError,
  );
  const option = (Array.isArray(element.options) ? element.options : []).find(
    (candidate): candidate is Record<string, unknown> =>
      isRecord(candidate) && candidate.value === options.optionValue,
  );
  if (!option) {
    throw new SelectOptionNotFoundError(
      `the select menu ${options.actionId} shows no option with value ${options.optionValue}`,
    );
  }
  return buildRequest(options, (actionTs) => ({
    type: 'static_select',
    action_id: options.actionId,
    block_id: blockId,
    selected_option: { text: plainTextOf(option.text), value: options.optionValue },
    ...(isRecord(element.placeholder) ? { placeholder: plainTextOf(element.placeholder) } : {}),
    action_ts: actionTs,
  }));
}

/** Sends the choice of a select menu option; resolves with whatever the app answered. */
export async function chooseSelectOption(
  options: ChooseSelectOptionOptions,
): Promise<{ status: number; body: string }> {
  return send(options.appUrl, buildStaticSelectActionRequest(options));
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

async function send(appUrl: string, request: { headers: Record<string, string>; body: string }) {
  const response = await fetch(appUrl, { method: 'POST', headers: request.headers, body: request.body });
  return { status: response.status, body: await response.text() };
}

/** The block_actions envelope around one action, form-encoded and signed as Slack does it. */
function buildRequest<A extends MessageAction>(
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
    trigger_id: options.triggerId ?? `${seconds}.${parseInt(seed.slice(0, 8), 16)}.${seed.slice(8, 40)}`,
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
  return { ...signed(body, 'application/x-www-form-urlencoded', options, seconds), payload };
}

/** Slack's request headers around a body: its content type, the timestamp and the signature over both. */
function signed(
  body: string,
  contentType: string,
  options: { signingSecret: string; signature?: string | undefined },
  seconds: number,
): { headers: Record<string, string>; body: string } {
  const timestamp = String(seconds);
  return {
    headers: {
      'Content-Type': contentType,
      'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      'X-Slack-Request-Timestamp': timestamp,
      'X-Slack-Signature': options.signature ?? signSlackRequest(body, options.signingSecret, timestamp),
    },
    body,
  };
}

/** What every request Slack sends an app has in common: where, signed with what, when. */
export interface SignedRequestOptions {
  appUrl: string;
  signingSecret: string;
  /** When it happens; an old `now` makes a correctly signed but stale request. */
  now?: Date;
  /** Send this X-Slack-Signature instead of the correct one: a forged request. */
  signature?: string;
}

export interface SlashCommandOptions extends SignedRequestOptions {
  user: { id: string; name: string };
  teamId: string;
  teamDomain?: string;
  apiAppId?: string;
  /** Where the person typed it (a channel or a DM id). */
  channelId: string;
  channelName?: string;
  /** The command as configured, with its slash: `/access-review`. */
  command: string;
  /** Everything after the command, as typed. */
  text: string;
  /** Pass `sandbox.commandResponseUrlFor(...)`; the default points at a closed loopback port. */
  responseUrl?: string;
  /** Pass `sandbox.issueTrigger(user.id)` so the app can open a modal. */
  triggerId?: string;
  verificationToken?: string;
}

/**
 * A slash command as Slack posts it to the command's Request URL
 * (https://docs.slack.dev/interactivity/implementing-slash-commands): form-encoded fields (not a
 * `payload` JSON field), signed like every request.
 */
export function buildSlashCommandRequest(options: SlashCommandOptions): {
  headers: Record<string, string>;
  body: string;
  payload: SlashCommand;
} {
  if (!/^\/[a-z0-9_-]+$/i.test(options.command)) {
    throw new MalformedRequestError(
      `a slash command starts with "/" and has no spaces, not ${options.command}`,
    );
  }
  const seconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const payload: SlashCommand = {
    token: options.verificationToken ?? 'sandbox-verification-token',
    team_id: options.teamId,
    team_domain: options.teamDomain ?? 'access-review-sandbox',
    channel_id: options.channelId,
    channel_name:
      options.channelName ?? (options.channelId.startsWith('D') ? 'directmessage' : options.channelId),
    user_id: options.user.id,
    user_name: options.user.name,
    command: options.command,
    text: options.text,
    api_app_id: options.apiAppId ?? 'A0SANDBOXAPP',
    is_enterprise_install: 'false',
    response_url: options.responseUrl ?? 'http://127.0.0.1:9/commands/no-response-url-given',
    trigger_id: options.triggerId ?? `${seconds}.0.no-trigger-given`,
  };
  const body = new URLSearchParams(payload as Record<string, string>).toString();
  return { ...signed(body, 'application/x-www-form-urlencoded', options, seconds), payload };
}

/** Sends a slash command; resolves with the app's answer (its acknowledgement may carry a message). */
export async function sendSlashCommand(
  options: SlashCommandOptions,
): Promise<{ status: number; body: string }> {
  return send(options.appUrl, buildSlashCommandRequest(options));
}

/** The app's answer to a view submission (https://docs.slack.dev/surfaces/modals#handling_submissions). */
export type ViewSubmissionAnswer =
  | { action: 'close' }
  | { action: 'clear' }
  | { action: 'errors'; errors: Record<string, string> }
  | { action: 'update' | 'push'; view: unknown };

export interface SubmitViewOptions extends SignedRequestOptions {
  user: { id: string; name: string };
  teamId: string;
  teamDomain?: string;
  apiAppId?: string;
  /** The view as the sandbox shows it (`sandbox.openModalOf(user)`), with Slack's block and action ids. */
  view: ViewPayload;
  /**
   * What the person entered: block_id → action_id → the text typed, the user id picked
   * (users_select) or the option value chosen (static_select). Inputs left out keep their
   * initial value, or stay empty.
   */
  values: Record<string, Record<string, string>>;
  /** A view_submission carries a fresh trigger_id; pass `sandbox.issueTrigger(user.id)`. */
  triggerId?: string;
  verificationToken?: string;
}

/**
 * A modal's Submit as Slack sends it (https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload):
 * a `view_submission` payload, form-encoded in a `payload` field, whose `view.state.values` holds
 * what was entered in each input block. Slack's client refuses to submit an empty required input
 * or text outside its length limits, and cannot enter what the view does not offer: so does this.
 */
export function buildViewSubmissionRequest(options: SubmitViewOptions): {
  headers: Record<string, string>;
  body: string;
  payload: Record<string, unknown>;
} {
  if (options.view.type !== 'modal') throw new ViewInputError('only a modal has a Submit button');
  if (options.view.submit === null) throw new ViewInputError('the modal shows no Submit button');
  const values = viewStateValues(options.view, options.values);
  const seconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const payload = {
    type: 'view_submission',
    team: { id: options.teamId, domain: options.teamDomain ?? 'access-review-sandbox' },
    user: {
      id: options.user.id,
      username: options.user.name,
      name: options.user.name,
      team_id: options.teamId,
    },
    api_app_id: options.apiAppId ?? 'A0SANDBOXAPP',
    token: options.verificationToken ?? 'sandbox-verification-token',
    trigger_id: options.triggerId ?? `${seconds}.0.no-trigger-given`,
    view: { ...structuredClone(options.view), state: { values } },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return { ...signed(body, 'application/x-www-form-urlencoded', options, seconds), payload };
}

/**
 * Sends the submission and reads the app's acknowledgement: an empty body closes the modal; a
 * `response_action` of `errors`, `update`, `push` or `clear` does what Slack does with it.
 */
export async function submitView(
  options: SubmitViewOptions,
): Promise<{ status: number; body: string; answer: ViewSubmissionAnswer | undefined }> {
  const response = await send(options.appUrl, buildViewSubmissionRequest(options));
  return { ...response, answer: response.status === 200 ? readSubmissionAnswer(response.body) : undefined };
}

function readSubmissionAnswer(body: string): ViewSubmissionAnswer {
  if (body.trim() === '') return { action: 'close' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Slack treats a 200 with a body it cannot read as a plain acknowledgement.
    return { action: 'close' };
  }
  if (!isRecord(parsed) || typeof parsed.response_action !== 'string') return { action: 'close' };
  switch (parsed.response_action) {
    case 'errors':
      return {
        action: 'errors',
        errors: isRecord(parsed.errors)
          ? Object.fromEntries(Object.entries(parsed.errors).map(([key, value]) => [key, String(value)]))
          : {},
      };
    case 'clear':
      return { action: 'clear' };
    case 'update':
    case 'push':
      return { action: parsed.response_action, view: parsed.view };
    default:
      throw new MalformedRequestError(
        `the app answered an unknown response_action ${parsed.response_action}`,
      );
  }
}

/** view.state.values for what the person entered, checked against the view's input blocks. */
function viewStateValues(
  view: ViewPayload,
  entered: Record<string, Record<string, string>>,
): Record<string, Record<string, ViewStateValue>> {
  const inputs = new Map<string, { actionId: string; element: Record<string, unknown>; optional: boolean }>();
  for (const block of view.blocks) {
    if (block.type !== 'input' || !isRecord(block.element)) continue;
    inputs.set(String(block.block_id), {
      actionId: String(block.element.action_id),
      element: block.element,
      optional: block.optional === true,
    });
  }
  for (const [blockId, byAction] of Object.entries(entered)) {
    const input = inputs.get(blockId);
    for (const actionId of Object.keys(byAction)) {
      if (!input || input.actionId !== actionId) {
        throw new ViewInputError(`the modal shows no input ${blockId}/${actionId}`);
      }
    }
  }
  const values: Record<string, Record<string, ViewStateValue>> = {};
  for (const [blockId, { actionId, element, optional }] of inputs) {
    const given = entered[blockId]?.[actionId];
    const value = stateValue(element, given, `${blockId}/${actionId}`);
    const empty =
      (value.type === 'plain_text_input' && (value.value === null || value.value === '')) ||
      (value.type === 'users_select' && value.selected_user === null) ||
      (value.type === 'static_select' && value.selected_option === null);
    if (empty && !optional) throw new ViewInputError(`the required input ${blockId}/${actionId} is empty`);
    values[blockId] = { [actionId]: value };
  }
  return values;
}

function stateValue(
  element: Record<string, unknown>,
  given: string | undefined,
  where: string,
): ViewStateValue {
  switch (element.type) {
    case 'plain_text_input': {
      const text = given ?? (typeof element.initial_value === 'string' ? element.initial_value : null);
      if (text !== null && text !== '') {
        const min = typeof element.min_length === 'number' ? element.min_length : 0;
        const max = typeof element.max_length === 'number' ? element.max_length : 3000;
        if (text.length < min || text.length > max) {
          throw new ViewInputError(`${where} takes ${min}–${max} characters, not ${text.length}`);
        }
      }
      return { type: 'plain_text_input', value: text };
    }
    case 'users_select': {
      const user = given ?? (typeof element.initial_user === 'string' ? element.initial_user : null);
      if (user !== null && !/^[UW][A-Z0-9]{2,}$/.test(user))
        throw new ViewInputError(`${where}: ${user} is not a user id`);
      return { type: 'users_select', selected_user: user };
    }
    case 'static_select': {
      const options = (Array.isArray(element.options) ? element.options : []).filter(isRecord);
      const initial = isRecord(element.initial_option) ? element.initial_option.value : undefined;
      const wanted = given ?? (typeof initial === 'string' ? initial : undefined);
      if (wanted === undefined) return { type: 'static_select', selected_option: null };
      const option = options.find((candidate) => candidate.value === wanted);
      if (!option) throw new ViewInputError(`${where} offers no option ${wanted}`);
      return { type: 'static_select', selected_option: { text: plainTextOf(option.text), value: wanted } };
    }
    default:
      throw new ViewInputError(`${where}: the sandbox does not model input element ${String(element.type)}`);
  }
}

export interface AppHomeOpenedOptions extends SignedRequestOptions {
  teamId: string;
  apiAppId?: string;
  /** The user who opened the app's Home tab. */
  user: string;
  /** The app's DM with that user (Slack names it in the event). */
  channel: string;
  /** The Home view published for this user before, which Slack includes in the event. */
  view?: ViewPayload;
  /** Unique per delivery; Slack retries with the same id. */
  eventId?: string;
}

/**
 * The Events API's `app_home_opened` (https://docs.slack.dev/reference/events/app_home_opened) in
 * its `event_callback` envelope (https://docs.slack.dev/apis/events-api/#callback-field), as JSON.
 */
export function buildAppHomeOpenedRequest(options: AppHomeOpenedOptions): {
  headers: Record<string, string>;
  body: string;
  payload: EnvelopedEvent<AppHomeOpenedEvent>;
} {
  const now = options.now ?? new Date();
  const seconds = Math.floor(now.getTime() / 1000);
  const eventTs = `${seconds}.${String((now.getTime() % 1000) * 1000).padStart(6, '0')}`;
  const event: AppHomeOpenedEvent = {
    type: 'app_home_opened',
    user: options.user,
    channel: options.channel,
    tab: 'home',
    event_ts: eventTs,
    ...(options.view ? { view: options.view as unknown as NonNullable<AppHomeOpenedEvent['view']> } : {}),
  };
  const payload: EnvelopedEvent<AppHomeOpenedEvent> = {
    token: 'sandbox-verification-token',
    team_id: options.teamId,
    api_app_id: options.apiAppId ?? 'A0SANDBOXAPP',
    event,
    type: 'event_callback',
    event_id:
      options.eventId ??
      `Ev${createHash('sha256').update(`${options.user}:${eventTs}`).digest('hex').slice(0, 10).toUpperCase()}`,
    event_time: seconds,
    authorizations: [
      {
        enterprise_id: null,
        team_id: options.teamId,
        user_id: 'U0SANDBOXBOT',
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
  };
  const body = JSON.stringify(payload);
  return { ...signed(body, 'application/json', options, seconds), payload };
}

/** Sends app_home_opened; resolves with the app's answer (an Events API app answers 200 at once). */
export async function sendAppHomeOpened(
  options: AppHomeOpenedOptions,
): Promise<{ status: number; body: string }> {
  return send(options.appUrl, buildAppHomeOpenedRequest(options));
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
