import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { AccessReviewError } from '../../functions/core/errors';
import { prototypeKeyPaths } from '../../functions/core/records';
import { listenOnLoopback } from '../loopback';
import {
  sendAppHomeOpened,
  sendSlashCommand,
  submitView as sendViewSubmission,
  ViewInputError,
  type ViewSubmissionAnswer,
} from './interactions';
import type { ViewPayload } from './views';
import {
  type MessageEvent,
  type RecordedCall,
  type RecordedEphemeral,
  type RecordedMessage,
  SANDBOX_BOT,
  type SlackChannelInput,
  type SlackUserGroupInput,
  type SlackUserInput,
  SlackWorkspace,
  slackError,
} from './workspace';

/**
 * A stateful stand-in for Slack's Web API on 127.0.0.1, for local runs and tests. Point a
 * WebClient at it with `slackApiUrl: sandbox.apiUrl`. Requests are decoded as Slack decodes them
 * (https://docs.slack.dev/apis/web-api/): form-encoded or JSON bodies, the token as a Bearer
 * header (or a `token` form field), and every answer is HTTP 200 with `ok` true or false, except
 * rate limiting (429 with Retry-After).
 */

export type {
  MessageEvent,
  RecordedCall,
  RecordedEphemeral,
  RecordedMessage,
  SlackUserGroupInput,
  SlackUserInput,
  ViewPayload,
  ViewSubmissionAnswer,
};

export interface SlackSandboxOptions {
  users: SlackUserInput[];
  /** Public and private channels besides the DMs (none by default). */
  channels?: SlackChannelInput[];
  botToken: string;
  teamId?: string;
  teamDomain?: string;
  /** User groups (`S…` ids) whose members usergroups.users.list answers. */
  userGroups?: SlackUserGroupInput[];
  /** 0 (the default) lets the system pick a free port. */
  port?: number;
  clock?: () => Date;
  /** How long a trigger id can be exchanged for a modal (Slack: 3 s). */
  triggerLifetimeMs?: number;
}

/** Where the app listens and the secret it checks signatures with: what every request to the app needs. */
export interface AppTarget {
  appUrl: string;
  signingSecret: string;
}

export type MessageListener = (event: MessageEvent) => void | Promise<void>;

export type InjectedFailure = { error: string } | { rateLimitedForSeconds: number };

export interface SlackSandbox {
  /** Base URL of the Web API, ending with `/api/` as WebClient's `slackApiUrl` expects. */
  apiUrl: string;
  teamId: string;
  teamDomain: string;
  /** The bot the token belongs to, as auth.test reports it. */
  bot: { userId: string; botId: string; appId: string };
  messages(channel?: string): RecordedMessage[];
  message(channel: string, ts: string): RecordedMessage | undefined;
  ephemerals(): RecordedEphemeral[];
  calls(): RecordedCall[];
  /** The stable DM channel id for a user (whether or not it was opened yet). */
  dmChannelFor(userId: string): string;
  /**
   * Called after the answer to the request that posted, updated or deleted a message has been
   * written, the way a person only sees a message once Slack has accepted it. Returns an
   * unsubscribe function. A listener that throws does not break the server; see takeListenerErrors().
   */
  onMessage(listener: MessageListener): () => void;
  /**
   * Errors thrown by onMessage listeners (and by the server itself), handed over once and then
   * forgotten, so a test can fail on them instead of losing them.
   */
  takeListenerErrors(): unknown[];
  /** A loopback response_url for an interaction on a message (what Slack puts in the payload). */
  responseUrlFor(context: { channel: string; messageTs: string; user: string }): string;
  /** The next call to `method` fails this way (once), to exercise an app's error handling. */
  failNext(method: string, failure: InjectedFailure): void;
  /**
   * From now on, for `seconds` (by the sandbox's clock), every call to `method` (`'*'`: every Web
   * API method) is answered as Slack answers a rate-limited app: HTTP 429, `Retry-After` with the
   * seconds left, and `{"ok":false,"error":"ratelimited"}`
   * (https://docs.slack.dev/apis/web-api/rate-limits). response_url is not a Web API method and
   * is not limited. Returns a function that lifts the limit early.
   */
  rateLimit(method: string, seconds: number): () => void;
  /** The calls answered 429 by rateLimit, in order (they are not in calls(): Slack did nothing). */
  rateLimitedCalls(): Array<{ method: string; retryAfterSeconds: number }>;
  /**
   * A trigger id for an interaction of this user, as Slack puts one in every payload: views.open
   * exchanges it once, within the trigger lifetime (3 s).
   */
  issueTrigger(userId: string): string;
  /** The modal the user is looking at (opened by views.open, not yet submitted or closed). */
  openModalOf(userId: string): ViewPayload | undefined;
  /** The user's App Home tab as last published, if any. */
  homeOf(userId: string): ViewPayload | undefined;
  /** Every view opened or published so far (modals closed or not, Home tabs). */
  views(): ViewPayload[];
  /** A response_url for a slash command typed in a conversation (no message to replace). */
  commandResponseUrlFor(context: { channel: string; user: string }): string;
  /**
   * A person types a slash command in their DM with the app (or `channelId`): signed, with a
   * trigger id and a response_url from this sandbox. Resolves with the app's acknowledgement.
   */
  sendCommand(
    target: AppTarget & { userId: string; command: string; text: string; channelId?: string },
  ): Promise<{ status: number; body: string }>;
  /**
   * The person fills in and submits the modal they are looking at; the app's answer is applied
   * as Slack applies it (empty or `clear`: the modal closes; `update`: it shows the new view;
   * `errors`: it stays open). Throws ViewInputError when the user has no modal open.
   */
  submitView(
    target: AppTarget & { userId: string; values: Record<string, Record<string, string>> },
  ): Promise<{ status: number; body: string; answer: ViewSubmissionAnswer | undefined; view: ViewPayload }>;
  /** The person opens the app's Home tab: Slack sends `app_home_opened` (with the view published before). */
  openAppHome(target: AppTarget & { userId: string }): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

export class SlackSandboxError extends AccessReviewError {}

/** Slack's documented request size limits are far above this; it only bounds a runaway test. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

export async function startSlackSandbox(options: SlackSandboxOptions): Promise<SlackSandbox> {
  const workspace = new SlackWorkspace(options);
  const listeners = new Set<MessageListener>();
  const listenerErrors: unknown[] = [];
  const failures = new Map<string, InjectedFailure[]>();
  /** Method (or '*') → when its rate limit ends (ms since the epoch, by the sandbox's clock). */
  const limitedUntil = new Map<string, number>();
  const clock = options.clock ?? (() => new Date());
  const refusedByLimit: Array<{ method: string; retryAfterSeconds: number }> = [];

  const announce = (events: MessageEvent[]) => {
    for (const event of events) {
      for (const listener of listeners) {
        Promise.resolve()
          .then(() => listener(structuredClone(event)))
          .catch((error: unknown) => listenerErrors.push(error));
      }
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, { ok: false, error: 'internal_error' });
      listenerErrors.push(
        new SlackSandboxError('the Slack sandbox failed to answer a request', { cause: error }),
      );
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const actionMatch = /^\/actions\/([0-9a-f]+)$/.exec(url.pathname);
    if (actionMatch && request.method === 'POST') {
      const raw = await readBody(request);
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        send(response, 400, { ok: false, error: 'invalid_json' });
        return;
      }
      if (prototypeKeyPaths(body).length > 0) {
        send(response, 400, { ok: false, error: 'invalid_arguments' });
        return;
      }
      const outcome = workspace.respond(actionMatch[1] as string, body);
      send(response, outcome.status, outcome.response, () => announce(outcome.events));
      return;
    }
    const methodMatch = /^\/api\/([A-Za-z.]+)$/.exec(url.pathname);
    if (!methodMatch || (request.method !== 'POST' && request.method !== 'GET')) {
      send(response, 404, { ok: false, error: 'unknown_method' });
      return;
    }
    const method = methodMatch[1] as string;
    const decoded = request.method === 'GET' ? fromQuery(url) : decodeBody(request, await readBody(request));
    if (!decoded.ok) {
      send(response, 200, slackError(decoded.error));
      return;
    }
    const limitEnd = Math.max(limitedUntil.get(method) ?? 0, limitedUntil.get('*') ?? 0);
    const leftMs = limitEnd - clock().getTime();
    if (leftMs > 0) {
      const retryAfterSeconds = Math.ceil(leftMs / 1000);
      refusedByLimit.push({ method, retryAfterSeconds });
      response.setHeader('Retry-After', String(retryAfterSeconds));
      send(response, 429, { ok: false, error: 'ratelimited' });
      return;
    }
    const injected = failures.get(method)?.shift();
    if (injected && 'rateLimitedForSeconds' in injected) {
      // Rate limits: HTTP 429 with Retry-After (https://docs.slack.dev/apis/web-api/rate-limits).
      response.setHeader('Retry-After', String(injected.rateLimitedForSeconds));
      send(response, 429, { ok: false, error: 'ratelimited' });
      return;
    }
    if (injected) {
      send(response, 200, slackError(injected.error));
      return;
    }
    const outcome = workspace.call(method, decoded.args, bearer(request) ?? decoded.formToken);
    send(response, 200, outcome.response, () => announce(outcome.events));
  }

  const base = await listenOnLoopback(server, options.port);
  const nameOf = (userId: string) => {
    const user = options.users.find((candidate) => candidate.id === userId);
    if (!user) throw new SlackSandboxError(`the Slack sandbox has no user ${userId}`);
    return user.name;
  };
  const commandResponseUrlFor = (context: { channel: string; user: string }) =>
    `${base}/actions/${workspace.registerResponseUrl({ ...context, messageTs: '' })}`;

  return {
    apiUrl: `${base}/api/`,
    teamId: workspace.teamId,
    teamDomain: workspace.teamDomain,
    bot: { userId: SANDBOX_BOT.userId, botId: SANDBOX_BOT.botId, appId: SANDBOX_BOT.appId },
    messages: (channel) => workspace.messages(channel),
    message: (channel, ts) => workspace.message(channel, ts),
    ephemerals: () => workspace.ephemerals(),
    calls: () => workspace.calls(),
    dmChannelFor: (userId) => workspace.dmChannelFor(userId),
    onMessage(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    takeListenerErrors: () => listenerErrors.splice(0),
    responseUrlFor: (context) => `${base}/actions/${workspace.registerResponseUrl(context)}`,
    failNext(method, failure) {
      failures.set(method, [...(failures.get(method) ?? []), failure]);
    },
    rateLimitedCalls: () => refusedByLimit.map((call) => ({ ...call })),
    rateLimit(method, seconds) {
      if (!(seconds > 0))
        throw new SlackSandboxError(`a rate limit lasts a positive number of seconds, not ${seconds}`);
      const end = clock().getTime() + seconds * 1000;
      limitedUntil.set(method, end);
      return () => {
        if (limitedUntil.get(method) === end) limitedUntil.delete(method);
      };
    },
    issueTrigger: (userId) => {
      nameOf(userId);
      return workspace.views.issueTrigger(userId);
    },
    openModalOf(userId) {
      const view = workspace.views.openModalOf(userId);
      return view ? workspace.views.payload(view) : undefined;
    },
    homeOf(userId) {
      const view = workspace.views.home(userId);
      return view ? workspace.views.payload(view) : undefined;
    },
    views: () => workspace.views.all().map((view) => workspace.views.payload(view)),
    commandResponseUrlFor,
    sendCommand(target) {
      const channel = target.channelId ?? workspace.dmChannelFor(target.userId);
      return sendSlashCommand({
        appUrl: target.appUrl,
        signingSecret: target.signingSecret,
        user: { id: target.userId, name: nameOf(target.userId) },
        teamId: workspace.teamId,
        teamDomain: workspace.teamDomain,
        channelId: channel,
        command: target.command,
        text: target.text,
        responseUrl: commandResponseUrlFor({ channel, user: target.userId }),
        triggerId: workspace.views.issueTrigger(target.userId),
      });
    },
    async submitView(target) {
      const open = workspace.views.openModalOf(target.userId);
      if (!open) throw new ViewInputError(`${target.userId} has no modal open to submit`);
      const view = workspace.views.payload(open);
      const result = await sendViewSubmission({
        appUrl: target.appUrl,
        signingSecret: target.signingSecret,
        user: { id: target.userId, name: nameOf(target.userId) },
        teamId: workspace.teamId,
        teamDomain: workspace.teamDomain,
        view,
        values: target.values,
        triggerId: workspace.views.issueTrigger(target.userId),
      });
      const answer = result.answer;
      if (answer?.action === 'close' || answer?.action === 'clear') workspace.views.close(open.id);
      if (answer?.action === 'update') {
        const updated = workspace.views.update({ viewId: open.id }, answer.view);
        if ('error' in updated) {
          listenerErrors.push(
            new SlackSandboxError(
              `the app answered a submission with a view Slack refuses: ${updated.error}`,
            ),
          );
        }
      }
      return { ...result, view };
    },
    openAppHome(target) {
      const home = workspace.views.home(target.userId);
      return sendAppHomeOpened({
        appUrl: target.appUrl,
        signingSecret: target.signingSecret,
        teamId: workspace.teamId,
        user: target.userId,
        channel: workspace.dmChannelFor(target.userId),
        ...(home ? { view: workspace.views.payload(home) } : {}),
      });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        listeners.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function send(response: ServerResponse, status: number, body: unknown, afterSent?: () => void): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    // WebClient copies these into response_metadata.scopes / acceptedScopes.
    'X-OAuth-Scopes': 'chat:write,commands,im:write,usergroups:read,users:read,users:read.email',
  });
  response.end(text, afterSent);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new SlackSandboxError(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

type Decoded = { ok: true; args: Record<string, unknown>; formToken?: string } | { ok: false; error: string };

function fromQuery(url: URL): Decoded {
  const args = Object.fromEntries(url.searchParams);
  if (prototypeKeyPaths(args).length > 0) return { ok: false, error: 'invalid_arguments' };
  return { ok: true, args, ...(typeof args.token === 'string' ? { formToken: args.token } : {}) };
}

/**
 * Body decoding per Slack's "Accepted content types" (https://docs.slack.dev/apis/web-api/#posting_json):
 * form-encoded bodies may carry the token as a field; "JSON-encoded bodies ... must present your
 * token as a bearer token", so a token inside JSON is not read. Errors are Slack's common ones:
 * `invalid_post_type`, `invalid_json`, `json_not_object`.
 */
function decodeBody(request: IncomingMessage, raw: string): Decoded {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/x-www-form-urlencoded' || (type === '' && raw === '')) {
    const args = Object.fromEntries(new URLSearchParams(raw));
    if (prototypeKeyPaths(args).length > 0) return { ok: false, error: 'invalid_arguments' };
    return { ok: true, args, ...(typeof args.token === 'string' ? { formToken: args.token } : {}) };
  }
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw === '' ? '{}' : raw);
    } catch {
      return { ok: false, error: 'invalid_json' };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return { ok: false, error: 'json_not_object' };
    // A record from outside: a key that rewrites a prototype is refused, never copied.
    if (prototypeKeyPaths(parsed).length > 0) return { ok: false, error: 'invalid_arguments' };
    return { ok: true, args: parsed as Record<string, unknown> };
  }
  return { ok: false, error: type === '' ? 'missing_post_type' : 'invalid_post_type' };
}

function bearer(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}
