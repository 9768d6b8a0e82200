import { createHmac, timingSafeEqual } from 'node:crypto';
import { parse as parseQueryString } from 'node:querystring';
import { AccessReviewError } from '../core/errors';
import { refusePrototypeKeys, UnsafeRecordError } from '../core/records';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from './approval-blocks';
import { APPROVAL_ACTION_PREFIX } from './approval-listeners';
import { SLASH_COMMAND } from './command-text';

/**
 * The checks every request to the Slack endpoint passes before Bolt sees it, on AWS (Function URL
 * → slack-events Lambda) and on the embedded host (which turns its HTTP requests into the same
 * Function URL events). Order matters: the headers, the timestamp window and the signature are
 * checked over the raw bytes first; only a request Slack signed is decoded and parsed. Bolt's own
 * receivers parse the body before verifying it, accept timestamps from the future, and throw on
 * bodies they cannot parse, which is why this runs in front of them.
 */

/** Slack's window (https://docs.slack.dev/authentication/verifying-requests-from-slack), both ways. */
export const SLACK_TIMESTAMP_TOLERANCE_SECONDS = 5 * 60;

/**
 * An interaction payload carries the message it came from (at most 50 blocks of ≤ 3000
 * characters, form-encoded); 1 MiB holds any of ours with room. Larger is refused unread.
 */
export const MAX_SLACK_BODY_BYTES = 1024 * 1024;

/** The review buttons and the reason menu (functions/slack/blocks.ts writes these action ids). */
export const REVIEW_BUTTON_ACTION = /^review_(keep|revoke):/;
export const REVIEW_REASON_ACTION = /^review_reason:/;
/**
 * Every review element (design §5): per-grant buttons and menus, and the per-task ones that carry
 * the campaign id. Anything else under `review_` is refused.
 */
export const REVIEW_GRANT_ACTION = /^review_(keep|revoke|justify|downgrade|delegate):g_[0-9a-f]{32}$/;
export const REVIEW_TASK_ACTION = /^review_(keep_all|delegate_all):/;
/** The review modals (view_submission callback ids). */
export const REVIEW_VIEW_CALLBACK_IDS: readonly string[] = ['review_justification', 'review_delegation'];
/** Events this app subscribes to (the App Home tab); other event types are acknowledged and dropped. */
export const HANDLED_EVENT_TYPES: readonly string[] = ['app_home_opened'];
const REVIEW_PREFIX = 'review_';

/** A request the endpoint refuses; `status` is the HTTP answer and `reason` its body and log line. */
export class SlackRequestError extends AccessReviewError {
  constructor(
    readonly status: 400 | 401 | 405 | 413,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/** No signature, a signature that does not verify, or headers missing: 401, the body unread. */
export class UnsignedSlackRequestError extends SlackRequestError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(401, reason, options);
  }
}

/** A timestamp outside the window, in the past or the future (a replay or a forged clock): 401. */
export class SlackTimestampError extends SlackRequestError {
  constructor(reason: string) {
    super(401, reason);
  }
}

/** A signed request this app cannot read (an interaction, command or event of the wrong shape): 400, nothing written. */
export class MalformedSlackRequestError extends SlackRequestError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(400, reason, options);
  }
}

export class OversizedSlackRequestError extends SlackRequestError {
  constructor(bytes: number) {
    super(413, `the body is ${bytes} bytes, over the ${MAX_SLACK_BODY_BYTES}-byte limit`);
  }
}

export class SlackMethodNotAllowedError extends SlackRequestError {
  constructor(method: string) {
    super(405, `method ${JSON.stringify(method.slice(0, 20))} is not POST`);
  }
}

/**
 * Who handles a checked request: Bolt's review, approval, command or App Home listeners; the
 * endpoint itself (url_verification: the challenge); or nobody (acked at once).
 */
export type SlackRoute = 'review' | 'approval' | 'command' | 'home' | 'url_verification' | 'unhandled';

/** What Slack sent: an interaction payload, a slash command form, or an Events API JSON body. */
export type SlackRequestKind = 'block_actions' | 'view_submission' | 'command' | 'event';

export interface CheckedSlackRequest {
  route: SlackRoute;
  kind: SlackRequestKind;
  /**
   * What Bolt dispatches on: the first action's id (block_actions), the view's callback_id
   * (view_submission), the command (`/access-review`), or the event's type (Events API; the body's
   * type for url_verification and other envelopes).
   */
  actionId: string;
  /** The body as Slack signed it, decoded as UTF-8 (byte for byte the same text). */
  rawBody: string;
  /** The content type Bolt must be told (it compares it literally). */
  contentType: 'application/x-www-form-urlencoded' | 'application/json';
  timestamp: string;
  signature: string;
  payload: SlackInteractionPayload | SlackViewSubmissionPayload | SlackCommandPayload | SlackEventPayload;
}

/** A modal's submission: who submitted which view. */
export interface SlackViewSubmissionPayload {
  type: 'view_submission';
  user: { id: string } & Record<string, unknown>;
  view: { id: string; callback_id: string; private_metadata?: string } & Record<string, unknown>;
  [key: string]: unknown;
}

/** A slash command's form fields (https://docs.slack.dev/interactivity/implementing-slash-commands). */
export interface SlackCommandPayload {
  command: string;
  text: string;
  user_id: string;
  team_id: string;
  response_url: string;
  trigger_id: string;
  [key: string]: string;
}

/** An Events API body: `event_callback` (with its event) or `url_verification` (with its challenge). */
export interface SlackEventPayload {
  type: string;
  challenge?: string;
  event?: { type: string; user?: string } & Record<string, unknown>;
  [key: string]: unknown;
}

/** The fields of a block_actions payload the listeners rely on; checked, not assumed. */
export interface SlackInteractionPayload {
  type: 'block_actions';
  user: { id: string } & Record<string, unknown>;
  container: { type: string } & Record<string, unknown>;
  actions: Array<{ action_id: string; type: string } & Record<string, unknown>>;
  response_url: string;
  [key: string]: unknown;
}

/** The parts of a Lambda Function URL event (payload format 2.0) this check reads. */
export interface FunctionUrlRequest {
  method: string | undefined;
  /** Lower-cased names; values that are not strings are left out. */
  headers: Map<string, string>;
  /** Undefined when the event says base64 but the text is not: nothing a signature covers. */
  body: Buffer | undefined;
}

/**
 * Reads a Function URL event without trusting its shape: anything not an object, headers that
 * are not a record, a body that is not a string, all become an empty request (which then fails
 * the signature check). A base64 body is decoded strictly; malformed base64 fails the signature check.
 */
export function readFunctionUrlEvent(event: unknown): FunctionUrlRequest {
  const record = isRecord(event) ? event : {};
  const headers = new Map<string, string>();
  if (isRecord(record.headers)) {
    for (const [name, value] of Object.entries(record.headers)) {
      if (typeof value === 'string') headers.set(name.toLowerCase(), value);
    }
  }
  const http = isRecord(record.requestContext) ? record.requestContext.http : undefined;
  const method = isRecord(http) && typeof http.method === 'string' ? http.method : undefined;
  const text = typeof record.body === 'string' ? record.body : '';
  if (record.isBase64Encoded === true) {
    // Buffer.from(…, 'base64') skips characters it does not know, so two texts would share one
    // signature; strict base64 only. Anything else has no bytes a signature could cover.
    const strict = /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 !== 1;
    return { method, headers, body: strict ? Buffer.from(text, 'base64') : undefined };
  }
  return { method, headers, body: Buffer.from(text, 'utf8') };
}

/**
 * Everything a Slack request must pass, in order: method, size, timestamp header, signature
 * header, the timestamp window (past and future), the HMAC over the raw bytes; then, signed, the
 * body is decoded and parsed and the payload's shape and keys are checked. Throws a
 * SlackRequestError naming the first problem.
 */
export function checkSlackRequest(
  request: FunctionUrlRequest,
  signingSecret: string,
  now: Date = new Date(),
): CheckedSlackRequest {
  if (request.method !== undefined && request.method.toUpperCase() !== 'POST') {
    throw new SlackMethodNotAllowedError(request.method);
  }
  const { body } = request;
  if (body !== undefined && body.length > MAX_SLACK_BODY_BYTES)
    throw new OversizedSlackRequestError(body.length);
  const timestamp = request.headers.get('x-slack-request-timestamp');
  const signature = request.headers.get('x-slack-signature');
  if (timestamp === undefined) throw new UnsignedSlackRequestError('no X-Slack-Request-Timestamp header');
  if (signature === undefined) throw new UnsignedSlackRequestError('no X-Slack-Signature header');
  // No leading zeros: Bolt signs the number it reads back, not the header's text.
  if (!/^[1-9][0-9]{0,11}$/.test(timestamp)) {
    throw new SlackTimestampError('X-Slack-Request-Timestamp is not a number of seconds');
  }
  const skew = Number(timestamp) - Math.floor(now.getTime() / 1000);
  if (skew < -SLACK_TIMESTAMP_TOLERANCE_SECONDS) {
    throw new SlackTimestampError(`the request timestamp is ${-skew} s old, over the 300 s window`);
  }
  if (skew > SLACK_TIMESTAMP_TOLERANCE_SECONDS) {
    throw new SlackTimestampError(`the request timestamp is ${skew} s in the future, over the 300 s window`);
  }
  if (!/^v0=[0-9a-f]{64}$/.test(signature)) {
    throw new UnsignedSlackRequestError('X-Slack-Signature is not a v0 signature');
  }
  if (body === undefined) {
    throw new UnsignedSlackRequestError('the body is marked base64 but is not, so no signature can cover it');
  }
  // Over the bytes as received, so no decoding step can make two bodies share a signature.
  const expected = createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(body).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature.slice(3), 'hex'))) {
    throw new UnsignedSlackRequestError('X-Slack-Signature does not match the body');
  }

  // Signed by Slack from here on; what follows refuses what this app cannot read.
  let rawBody: string;
  try {
    // ignoreBOM keeps a leading BOM, so the text is exactly the signed bytes.
    rawBody = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch (error) {
    throw new MalformedSlackRequestError('the body is not UTF-8', { cause: error });
  }
  const contentType = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  const signed = { rawBody, timestamp, signature };
  if (contentType === 'application/json') return checkEventBody(rawBody, signed);
  if (contentType !== 'application/x-www-form-urlencoded') {
    throw new MalformedSlackRequestError(
      `Content-Type ${JSON.stringify((contentType ?? '').slice(0, 60))} is not application/x-www-form-urlencoded or application/json`,
    );
  }
  // node:querystring, as Bolt's receivers decode the form, so both read the same payload.
  const form = parseQueryString(rawBody);
  refuseUnsafeKeys(form, 'the form');
  const fields = Object.keys(form);
  if ('command' in form) return checkCommandForm(form, signed);
  if (fields.length !== 1 || fields[0] !== 'payload' || typeof form.payload !== 'string') {
    throw new MalformedSlackRequestError('the form does not hold exactly one payload field');
  }
  const parsed = parseJson(form.payload, 'the payload');
  if (isRecord(parsed) && parsed.type === 'view_submission') {
    const payload = checkViewSubmission(parsed);
    const callbackId = payload.view.callback_id;
    return {
      route: viewRouteOf(callbackId),
      kind: 'view_submission',
      actionId: callbackId,
      contentType: 'application/x-www-form-urlencoded',
      ...signed,
      payload,
    };
  }
  const payload = checkPayload(parsed);
  const actionId = (payload.actions[0] as { action_id: string }).action_id;
  return {
    route: routeOf(actionId),
    kind: 'block_actions',
    actionId,
    contentType: 'application/x-www-form-urlencoded',
    ...signed,
    payload,
  };
}

interface SignedParts {
  rawBody: string;
  timestamp: string;
  signature: string;
}

/** Fields of a slash command form that must be present, non-empty (text may be empty), at most this long. */
const COMMAND_FIELDS: ReadonlyArray<readonly [string, number]> = [
  ['command', 64],
  ['user_id', 64],
  ['team_id', 64],
  ['response_url', 2000],
  ['trigger_id', 255],
];

/** Slack caps a command's text at 4,000 characters. */
const MAX_COMMAND_TEXT = 4000;

function checkCommandForm(
  form: Record<string, string | string[] | undefined>,
  signed: SignedParts,
): CheckedSlackRequest {
  for (const [name, value] of Object.entries(form)) {
    // A repeated field is an array in node:querystring; Bolt would read it differently from us.
    if (typeof value !== 'string')
      throw new MalformedSlackRequestError(`the command form repeats ${clipName(name)}`);
  }
  const fields = form as Record<string, string>;
  for (const [name, max] of COMMAND_FIELDS) {
    if (!nonEmptyString(fields[name], max)) {
      throw new MalformedSlackRequestError(`the command form has no ${name}`);
    }
  }
  if (typeof fields.text !== 'string' || fields.text.length > MAX_COMMAND_TEXT) {
    throw new MalformedSlackRequestError('the command form has no text (or it is over 4000 characters)');
  }
  if (fields.command !== SLASH_COMMAND) {
    throw new MalformedSlackRequestError(
      `command ${JSON.stringify(String(fields.command).slice(0, 40))} is not ${SLASH_COMMAND}`,
    );
  }
  return {
    route: 'command',
    kind: 'command',
    actionId: fields.command,
    contentType: 'application/x-www-form-urlencoded',
    ...signed,
    payload: fields as SlackCommandPayload,
  };
}

/** Events API bodies (JSON): url_verification, and event_callback with the event it carries. */
function checkEventBody(rawBody: string, signed: SignedParts): CheckedSlackRequest {
  const parsed = parseJson(rawBody, 'the body');
  if (!isRecord(parsed)) throw new MalformedSlackRequestError('the body is not an object');
  const common = { kind: 'event' as const, contentType: 'application/json' as const, ...signed };
  if (parsed.type === 'url_verification') {
    if (!nonEmptyString(parsed.challenge, 200)) {
      throw new MalformedSlackRequestError('the url_verification body has no challenge');
    }
    return {
      ...common,
      route: 'url_verification',
      actionId: 'url_verification',
      payload: parsed as SlackEventPayload,
    };
  }
  if (parsed.type !== 'event_callback') {
    // app_rate_limited and envelopes this app never subscribed to: acknowledged, nothing read.
    if (!nonEmptyString(parsed.type, 64)) throw new MalformedSlackRequestError('the body has no type');
    return { ...common, route: 'unhandled', actionId: parsed.type, payload: parsed as SlackEventPayload };
  }
  // Bolt reads team_id and the event's type and user to build its context.
  if (!nonEmptyString(parsed.team_id, 64))
    throw new MalformedSlackRequestError('the event_callback has no team_id');
  const event = parsed.event;
  if (!isRecord(event) || !nonEmptyString(event.type, 64)) {
    throw new MalformedSlackRequestError('the event_callback has no event with a type');
  }
  if (!HANDLED_EVENT_TYPES.includes(event.type)) {
    return { ...common, route: 'unhandled', actionId: event.type, payload: parsed as SlackEventPayload };
  }
  if (!nonEmptyString(event.user, 64)) {
    throw new MalformedSlackRequestError(`the ${event.type} event has no user`);
  }
  if ('tab' in event && typeof event.tab !== 'string') {
    throw new MalformedSlackRequestError(`the ${event.type} event has a tab that is not a string`);
  }
  return { ...common, route: 'home', actionId: event.type, payload: parsed as SlackEventPayload };
}

function checkViewSubmission(value: Record<string, unknown>): SlackViewSubmissionPayload {
  if (!isRecord(value.user) || !nonEmptyString(value.user.id, 64)) {
    throw new MalformedSlackRequestError('the view_submission has no user.id');
  }
  const view = value.view;
  if (!isRecord(view)) throw new MalformedSlackRequestError('the view_submission has no view');
  if (!nonEmptyString(view.id, 64)) throw new MalformedSlackRequestError('the view has no id');
  // Slack caps callback_id at 255 characters and private_metadata at 3000.
  if (!nonEmptyString(view.callback_id, 255))
    throw new MalformedSlackRequestError('the view has no callback_id');
  if ('private_metadata' in view && typeof view.private_metadata !== 'string') {
    throw new MalformedSlackRequestError('the view has a private_metadata that is not a string');
  }
  if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000) {
    throw new MalformedSlackRequestError('the view has a private_metadata over 3000 characters');
  }
  if ('state' in view && !isRecord(view.state)) {
    throw new MalformedSlackRequestError('the view has a state that is not an object');
  }
  for (const field of ['team', 'enterprise'] as const) {
    if (field in value && value[field] !== null && !isRecord(value[field])) {
      throw new MalformedSlackRequestError(`the view_submission has a ${field} that is not an object`);
    }
  }
  return value as SlackViewSubmissionPayload;
}

/** The review modals go to the review listeners; an unknown `review_` callback is refused. */
export function viewRouteOf(callbackId: string): SlackRoute {
  if (REVIEW_VIEW_CALLBACK_IDS.includes(callbackId)) return 'review';
  if (callbackId.startsWith(REVIEW_PREFIX)) {
    throw new MalformedSlackRequestError(
      `callback_id ${JSON.stringify(callbackId.slice(0, 60))} is not a review modal`,
    );
  }
  return 'unhandled';
}

function parseJson(text: string, what: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new MalformedSlackRequestError(`${what} is not JSON`, { cause: error });
  }
  refuseUnsafeKeys(parsed, what);
  return parsed;
}

function refuseUnsafeKeys(value: unknown, what: string): void {
  try {
    refusePrototypeKeys(value, what);
  } catch (error) {
    if (!(error instanceof UnsafeRecordError)) throw error;
    throw new MalformedSlackRequestError(error.message, { cause: error });
  }
}

function clipName(name: string): string {
  return JSON.stringify(name.slice(0, 40));
}

/** Review and approval actions go to Bolt; an action id we never wrote is acknowledged and dropped. */
export function routeOf(actionId: string): SlackRoute {
  if (
    REVIEW_BUTTON_ACTION.test(actionId) ||
    REVIEW_REASON_ACTION.test(actionId) ||
    REVIEW_GRANT_ACTION.test(actionId) ||
    REVIEW_TASK_ACTION.test(actionId)
  ) {
    return 'review';
  }
  if (actionId === APPROVE_ACTION_ID || actionId === REJECT_ACTION_ID) return 'approval';
  if (actionId.startsWith(APPROVAL_ACTION_PREFIX)) {
    // The guard's prefix, but not one of its two buttons: no listener would ack it (Bolt's 404).
    throw new MalformedSlackRequestError(
      `action_id ${JSON.stringify(actionId.slice(0, 60))} is not an approve or reject button`,
    );
  }
  if (actionId.startsWith(REVIEW_PREFIX)) {
    // Our prefix, but no element we build carries it: refused rather than silently acked.
    throw new MalformedSlackRequestError(
      `action_id ${JSON.stringify(actionId.slice(0, 60))} is not a review button or reason menu`,
    );
  }
  return 'unhandled';
}

function checkPayload(value: unknown): SlackInteractionPayload {
  if (!isRecord(value)) throw new MalformedSlackRequestError('the payload is not an object');
  if (value.type !== 'block_actions') {
    throw new MalformedSlackRequestError(
      `payload type ${JSON.stringify(String(value.type).slice(0, 40))} is not block_actions`,
    );
  }
  if (!isRecord(value.user)) throw new MalformedSlackRequestError('the payload has no user');
  if (!nonEmptyString(value.user.id, 64)) throw new MalformedSlackRequestError('the payload has no user.id');
  if (!isRecord(value.container) || typeof value.container.type !== 'string') {
    throw new MalformedSlackRequestError('the payload has no container');
  }
  if (!nonEmptyString(value.response_url, 2000)) {
    throw new MalformedSlackRequestError('the payload has no response_url');
  }
  // Bolt reads channel.id, team.id and enterprise.id whenever these are not undefined (null
  // included, for channel): anything but an object (or null where Slack sends null) would throw there.
  if ('channel' in value && !isRecord(value.channel)) {
    throw new MalformedSlackRequestError('the payload has a channel that is not an object');
  }
  for (const field of ['team', 'enterprise'] as const) {
    if (field in value && value[field] !== null && !isRecord(value[field])) {
      throw new MalformedSlackRequestError(`the payload has a ${field} that is not an object`);
    }
  }
  if (!Array.isArray(value.actions) || value.actions.length === 0) {
    throw new MalformedSlackRequestError('the payload has no actions');
  }
  value.actions.forEach((action: unknown, index) => {
    if (!isRecord(action)) throw new MalformedSlackRequestError(`actions[${index}] is not an object`);
    // Slack caps action_id at 255 characters.
    if (!nonEmptyString(action.action_id, 255)) {
      throw new MalformedSlackRequestError(`actions[${index}] has no action_id`);
    }
    if (!nonEmptyString(action.type, 64))
      throw new MalformedSlackRequestError(`actions[${index}] has no type`);
  });
  return value as SlackInteractionPayload;
}

function nonEmptyString(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
