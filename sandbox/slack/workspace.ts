import { createHash } from 'node:crypto';
import type {
  AuthTestResponse,
  ChatPostEphemeralResponse,
  ChatPostMessageResponse,
  ChatUpdateResponse,
  ConversationsOpenResponse,
  UsergroupsUsersListResponse,
  UsersInfoResponse,
  UsersLookupByEmailResponse,
  WebAPICallResult,
} from '@slack/web-api';
import { z } from 'zod';
import { prototypeKeyPaths } from '../../functions/core/records';
import { interactiveElements, validateBlocks } from './blockKit';
import { type StoredView, type ViewPayload, ViewRegistry } from './views';

/**
 * The state of one simulated Slack workspace and the Web API methods that act on it. No HTTP here:
 * server.ts decodes requests and hands the arguments over; this file decides what Slack would
 * answer. Method rules cite https://docs.slack.dev/reference/methods/<method>.
 */

export interface SlackUserInput {
  id: string;
  name: string;
  email: string;
  /**
   * Further addresses that reach the same account (a second login's mailbox, an old domain):
   * users.lookupByEmail finds the user by any of them; the profile shows `email`.
   */
  aliases?: string[];
}

/**
 * A public or private channel the workspace has (channel modelling). Slack ids: `C…` (and `G…` for
 * old private channels). `members` are user ids; the app's bot is a member unless `botIsMember` is
 * false, which is how a bot that was never invited looks.
 */
export interface SlackChannelInput {
  id: string;
  name: string;
  members: string[];
  isPrivate?: boolean;
  botIsMember?: boolean;
}

/** A message as it is stored in a channel, with the ids Slack adds (block_id, action_id). */
export interface RecordedMessage {
  channel: string;
  ts: string;
  type: 'message';
  /** The bot user that posted it. */
  user: string;
  botId: string;
  appId: string;
  team: string;
  text: string;
  blocks: Record<string, unknown>[];
  threadTs?: string;
  /** Set by chat.update (and replace_original), as Slack marks edited messages. */
  edited?: { user: string; ts: string };
}

/**
 * A user group (https://docs.slack.dev/reference/objects/usergroup-object): id `S…`, a handle
 * people mention (`@security-team`), its members' user ids; a disabled group keeps its members but
 * is listed only with `include_disabled`.
 */
export interface SlackUserGroupInput {
  id: string;
  handle: string;
  name?: string;
  users: string[];
  disabled?: boolean;
}

export interface RecordedEphemeral {
  channel: string;
  /** The only user who sees it. */
  user: string;
  messageTs: string;
  text: string;
  blocks: Record<string, unknown>[];
  via: 'chat.postEphemeral' | 'response_url';
}

export interface RecordedCall {
  method: string;
  /** Decoded arguments, without the token. */
  args: Record<string, unknown>;
  ok: boolean;
  error?: string;
  at: string;
}

export type MessageEvent =
  | { kind: 'posted'; message: RecordedMessage }
  | { kind: 'updated'; message: RecordedMessage }
  | { kind: 'deleted'; message: RecordedMessage };

/** Slack's error answer: HTTP 200, `ok: false`, a code, sometimes details. */
export type SlackErrorResponse = WebAPICallResult & { ok: false; error: string; errors?: string[] };

export type MethodResult = WebAPICallResult;

export interface WorkspaceOptions {
  users: SlackUserInput[];
  botToken: string;
  teamId?: string;
  teamDomain?: string;
  /** Channels besides the app's DMs (without them every non-DM id is `channel_not_found`). */
  channels?: SlackChannelInput[];
  /** User groups (none by default; usergroups.users.list then answers `no_such_subteam`). */
  userGroups?: SlackUserGroupInput[];
  /** Source of message timestamps; tests pin it to get predictable `ts` values. */
  clock?: () => Date;
  /** How long a trigger id stays exchangeable (Slack: 3 s); tests shorten or lengthen it. */
  triggerLifetimeMs?: number;
}

export const SANDBOX_BOT = {
  userId: 'U0SANDBOXBOT',
  botId: 'B0SANDBOXBOT',
  appId: 'A0SANDBOXAPP',
  name: 'access-review',
};

/**
 * chat.postMessage: "Slack will truncate messages containing more than 40,000 characters"
 * (changelog 2018-04, truncating really long messages).
 */
const MAX_TEXT = 40_000;

/** conversations.open: "Supply a channel when not supplying users" / up to 8 users for a group DM. */
const MAX_CONVERSATION_USERS = 8;

// ---------------------------------------------------------------------------------------------
// Arguments. Slack accepts form fields (all strings) and JSON; it ignores arguments it does not
// know, so these schemas are not strict. A custom message that looks like an error code is the
// code Slack answers for that argument; anything else becomes `invalid_arguments`.
// ---------------------------------------------------------------------------------------------

const code = (error: string) => ({ error });
/** Form fields arrive as "true"/"1"; JSON sends booleans. */
const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((value) => value === true || value === 'true' || value === '1')
  .optional();
/** `blocks` is "a JSON-based array of structured blocks, presented as a URL-encoded string" in forms. */
const blocksArg = z.union([z.string(), z.array(z.unknown())]).optional();
const messageTs = z.string().regex(/^\d{10}\.\d{6}$/);

const argumentSchemas = {
  'auth.test': z.object({}),
  'users.lookupByEmail': z.object({ email: z.string().min(1) }),
  'users.info': z.object({ user: z.string(code('user_not_found')).min(1, code('user_not_found')) }),
  'conversations.open': z.object({
    users: z.union([z.string(), z.array(z.string())]).optional(),
    channel: z.string().optional(),
    return_im: flag,
    prevent_creation: flag,
  }),
  'chat.postMessage': z.object({
    channel: z.string(code('channel_not_found')).min(1, code('channel_not_found')),
    text: z.string().optional(),
    blocks: blocksArg,
    attachments: z.unknown().optional(),
    thread_ts: messageTs.optional(),
  }),
  'chat.update': z.object({
    channel: z.string(code('channel_not_found')).min(1, code('channel_not_found')),
    ts: z.string(code('message_not_found')).min(1, code('message_not_found')),
    text: z.string().optional(),
    blocks: blocksArg,
    attachments: z.unknown().optional(),
  }),
  'chat.postEphemeral': z.object({
    channel: z.string(code('channel_not_found')).min(1, code('channel_not_found')),
    user: z.string(code('user_not_found')).min(1, code('user_not_found')),
    text: z.string().optional(),
    blocks: blocksArg,
    attachments: z.unknown().optional(),
    thread_ts: messageTs.optional(),
  }),
  // https://docs.slack.dev/reference/methods/usergroups.users.list: usergroup required,
  // include_disabled and team_id optional; an unknown group is `no_such_subteam`.
  'usergroups.users.list': z.object({
    usergroup: z.string(code('no_such_subteam')).min(1, code('no_such_subteam')),
    include_disabled: flag,
    team_id: z.string().optional(),
  }),
  // https://docs.slack.dev/reference/methods/views.open: view required; "One of these arguments
  // is required": trigger_id or interactivity_pointer.
  'views.open': z.object({
    view: z.union([z.string(), z.record(z.string(), z.unknown())]),
    trigger_id: z.string().optional(),
    interactivity_pointer: z.string().optional(),
  }),
  // https://docs.slack.dev/reference/methods/views.update: view required; "Exactly one of these
  // arguments is required": view_id or external_id; hash optional.
  'views.update': z.object({
    view: z.union([z.string(), z.record(z.string(), z.unknown())]),
    view_id: z.string().optional(),
    external_id: z.string().optional(),
    hash: z.string().optional(),
  }),
  // https://docs.slack.dev/reference/methods/views.publish: user_id and view required, hash optional.
  'views.publish': z.object({
    user_id: z.string().min(1),
    view: z.union([z.string(), z.record(z.string(), z.unknown())]),
    hash: z.string().optional(),
  }),
} as const;

export type SlackMethod = keyof typeof argumentSchemas;
export const SLACK_METHODS = Object.keys(argumentSchemas) as SlackMethod[];

export function isSlackMethod(name: string): name is SlackMethod {
  return Object.hasOwn(argumentSchemas, name);
}

export function slackError(error: string, details: string[] = []): SlackErrorResponse {
  return details.length === 0
    ? { ok: false, error }
    : {
        ok: false,
        error,
        errors: details,
        response_metadata: { messages: details.map((d) => `[ERROR] ${d}`) },
      };
}

type Parsed<M extends SlackMethod> = z.infer<(typeof argumentSchemas)[M]>;

function parseArguments<M extends SlackMethod>(
  method: M,
  args: Record<string, unknown>,
): { ok: true; value: Parsed<M> } | { ok: false; response: SlackErrorResponse } {
  const result = argumentSchemas[method].safeParse(args);
  if (result.success) return { ok: true, value: result.data as Parsed<M> };
  const issue = result.error.issues[0];
  if (issue && /^[a-z_]+$/.test(issue.message)) return { ok: false, response: slackError(issue.message) };
  const details = result.error.issues.map((i) => {
    const field = i.path.map(String).join('.');
    return args[String(i.path[0])] === undefined
      ? `missing required field: ${field}`
      : `invalid value for ${field}: ${i.message}`;
  });
  return { ok: false, response: slackError('invalid_arguments', details) };
}

/** Outcome of a method: the answer, plus message events to announce once the answer is sent. */
export interface MethodOutcome {
  response: MethodResult;
  events: MessageEvent[];
}

interface DirectMessage {
  kind: 'im';
  id: string;
  /** The DM's other member. */
  user: string;
  opened: boolean;
  messages: RecordedMessage[];
}

/** A public or private channel (channel modelling): who is in it decides who may post or see. */
interface SharedChannel {
  kind: 'channel';
  id: string;
  name: string;
  isPrivate: boolean;
  /** User ids; the bot's own id when it was invited. */
  members: Set<string>;
  messages: RecordedMessage[];
}

type Channel = DirectMessage | SharedChannel;

interface ResponseUrlContext {
  channel: string;
  messageTs: string;
  user: string;
}

/**
 * The fields the generated response types describe with enums (`type?: BlockType`) are the same
 * strings at runtime; the blocks were checked by validateBlocks, so this one conversion is the
 * only place the compiler is told to trust us.
 */
type ResponseBlocks = NonNullable<NonNullable<ChatPostMessageResponse['message']>['blocks']>;
type UpdateResponseBlocks = NonNullable<NonNullable<ChatUpdateResponse['message']>['blocks']>;

export class SlackWorkspace {
  readonly teamId: string;
  readonly teamDomain: string;
  private readonly botToken: string;
  private readonly clock: () => Date;
  private readonly users = new Map<string, SlackUserInput>();
  private readonly usersByEmail = new Map<string, SlackUserInput>();
  private readonly channels = new Map<string, Channel>();
  private readonly ephemeralLog: RecordedEphemeral[] = [];
  private readonly callLog: RecordedCall[] = [];
  private readonly responseUrls = new Map<string, ResponseUrlContext>();
  /** Every stored message in posting order; channels hold the same objects. */
  private readonly messageLog: RecordedMessage[] = [];
  private lastTs: { seconds: number; micros: number } = { seconds: 0, micros: 0 };
  private readonly userGroups = new Map<string, SlackUserGroupInput>();
  readonly views: ViewRegistry;

  constructor(options: WorkspaceOptions) {
    this.botToken = options.botToken;
    this.teamId = options.teamId ?? 'T0SANDBOX1';
    this.teamDomain = options.teamDomain ?? 'access-review-sandbox';
    this.clock = options.clock ?? (() => new Date());
    for (const user of options.users) {
      if (this.users.has(user.id)) throw new Error(`Slack user ${user.id} is listed twice`);
      this.users.set(user.id, user);
      // Mail addresses are compared case-insensitively, as mail systems do in practice; an
      // address (primary or alias) reaches one account only.
      for (const email of [user.email, ...(user.aliases ?? [])]) {
        const key = email.toLowerCase();
        const owner = this.usersByEmail.get(key);
        if (owner) throw new Error(`Slack email ${email} of ${user.id} is already ${owner.id}'s`);
        this.usersByEmail.set(key, user);
      }
    }
    for (const channel of options.channels ?? []) this.addChannel(channel);
    for (const group of options.userGroups ?? []) {
      if (!/^S[A-Z0-9]{2,}$/.test(group.id)) throw new Error(`Slack user group id ${group.id} is not S…`);
      if (this.userGroups.has(group.id)) throw new Error(`Slack user group ${group.id} is listed twice`);
      for (const member of group.users) {
        if (!this.users.has(member))
          throw new Error(`Slack user group ${group.id} lists unknown user ${member}`);
      }
      this.userGroups.set(group.id, { ...group, users: [...group.users] });
    }
    this.views = new ViewRegistry(
      { teamId: this.teamId, appId: SANDBOX_BOT.appId, botId: SANDBOX_BOT.botId },
      () => this.clock().getTime(),
      withSlackIds,
      options.triggerLifetimeMs,
    );
  }

  // --- Channel modelling: public and private channels besides the DMs. ---

  private addChannel(input: SlackChannelInput): void {
    if (!/^[CG][A-Z0-9]{2,}$/.test(input.id)) throw new Error(`Slack channel id ${input.id} is not C… or G…`);
    if (this.channels.has(input.id)) throw new Error(`Slack channel ${input.id} is listed twice`);
    for (const member of input.members) {
      if (!this.users.has(member)) throw new Error(`Slack channel ${input.id} lists unknown user ${member}`);
    }
    const members = new Set(input.members);
    if (input.botIsMember !== false) members.add(SANDBOX_BOT.userId);
    this.channels.set(input.id, {
      kind: 'channel',
      id: input.id,
      name: input.name,
      isPrivate: input.isPrivate === true,
      members,
      messages: [],
    });
  }

  /**
   * Whether the bot may post to a channel, as Slack answers: a public channel it was not invited to
   * is `not_in_channel` (https://docs.slack.dev/reference/methods/chat.postMessage), a private one
   * it cannot see is `channel_not_found`.
   */
  private botCannotPost(channel: Channel): string | undefined {
    if (channel.kind === 'im' || channel.members.has(SANDBOX_BOT.userId)) return undefined;
    return channel.isPrivate ? 'channel_not_found' : 'not_in_channel';
  }

  /** Whether a user is in a conversation: a DM's other member, or a channel's member. */
  private isMember(channel: Channel, userId: string): boolean {
    return channel.kind === 'im' ? channel.user === userId : channel.members.has(userId);
  }

  // --- End of channel modelling. ---

  /**
   * Authentication comes first, as on Slack: a missing token is `not_authed`, a wrong one
   * `invalid_auth` (https://docs.slack.dev/apis/web-api/#authentication).
   */
  call(method: string, args: Record<string, unknown>, token: string | undefined): MethodOutcome {
    const { token: _dropped, ...recordedArgs } = args;
    let outcome: MethodOutcome;
    if (token === undefined || token === '') outcome = { response: slackError('not_authed'), events: [] };
    else if (token !== this.botToken) outcome = { response: slackError('invalid_auth'), events: [] };
    else if (!isSlackMethod(method)) outcome = { response: slackError('unknown_method'), events: [] };
    else outcome = this.dispatch(method, args);
    const error = (outcome.response as { error?: unknown }).error;
    this.callLog.push({
      method,
      args: structuredClone(recordedArgs),
      ok: outcome.response.ok,
      ...(typeof error === 'string' ? { error } : {}),
      at: this.clock().toISOString(),
    });
    return outcome;
  }

  private dispatch(method: SlackMethod, args: Record<string, unknown>): MethodOutcome {
    const none = (response: MethodResult): MethodOutcome => ({ response, events: [] });
    switch (method) {
      case 'auth.test':
        return none(this.authTest());
      case 'users.lookupByEmail': {
        const parsed = parseArguments(method, args);
        return none(parsed.ok ? this.lookupByEmail(parsed.value.email) : parsed.response);
      }
      case 'users.info': {
        const parsed = parseArguments(method, args);
        return none(parsed.ok ? this.userInfo(parsed.value.user) : parsed.response);
      }
      case 'conversations.open': {
        const parsed = parseArguments(method, args);
        return none(parsed.ok ? this.openConversation(parsed.value) : parsed.response);
      }
      case 'chat.postMessage': {
        const parsed = parseArguments(method, args);
        return parsed.ok ? this.postMessage(parsed.value) : none(parsed.response);
      }
      case 'chat.update': {
        const parsed = parseArguments(method, args);
        return parsed.ok ? this.updateMessage(parsed.value) : none(parsed.response);
      }
      case 'chat.postEphemeral': {
        const parsed = parseArguments(method, args);
        return none(parsed.ok ? this.postEphemeral(parsed.value) : parsed.response);
      }
      case 'usergroups.users.list': {
        const parsed = parseArguments(method, args);
        return none(parsed.ok ? this.userGroupMembers(parsed.value) : parsed.response);
      }
      case 'views.open': {
        const parsed = parseArguments(method, args);
        return none(parsed.ok ? this.openView(parsed.value) : parsed.response);
      }
      case 'views.update': {
        const parsed = parseArguments(method, args);
        return none(parsed.ok ? this.updateView(parsed.value) : parsed.response);
      }
      case 'views.publish': {
        const parsed = parseArguments(method, args);
        return none(parsed.ok ? this.publishView(parsed.value) : parsed.response);
      }
    }
  }

  /**
   * usergroups.users.list: the group's member ids. An unknown id is `no_such_subteam`; so is a
   * disabled group unless `include_disabled` ("Allow results that involve disabled User Groups").
   */
  private userGroupMembers(
    args: Parsed<'usergroups.users.list'>,
  ): UsergroupsUsersListResponse | SlackErrorResponse {
    const group = this.userGroups.get(args.usergroup);
    if (!group || (group.disabled === true && args.include_disabled !== true)) {
      return slackError('no_such_subteam');
    }
    return { ok: true, users: [...group.users] };
  }

  private viewAnswer(result: { ok: true; view: StoredView } | { error: string; details?: string[] }) {
    if ('error' in result) return slackError(result.error, result.details ?? []);
    return { ok: true, view: this.views.payload(result.view) } as MethodResult & { view: ViewPayload };
  }

  /** views.open: exactly one of trigger_id and interactivity_pointer; the sandbox issues only trigger ids. */
  private openView(args: Parsed<'views.open'>): MethodResult {
    if (args.trigger_id === undefined && args.interactivity_pointer === undefined) {
      return slackError('invalid_arguments', ['missing required field: trigger_id']);
    }
    if (args.trigger_id !== undefined && args.interactivity_pointer !== undefined) {
      return slackError('invalid_arguments', ['trigger_id and interactivity_pointer are mutually exclusive']);
    }
    if (args.trigger_id === undefined) {
      return slackError('invalid_arguments', ['the sandbox does not model interactivity_pointer']);
    }
    return this.viewAnswer(this.views.open(args.trigger_id, args.view));
  }

  private updateView(args: Parsed<'views.update'>): MethodResult {
    if ((args.view_id === undefined) === (args.external_id === undefined)) {
      return slackError('invalid_arguments', ['exactly one of view_id and external_id is required']);
    }
    return this.viewAnswer(
      this.views.update({ viewId: args.view_id, externalId: args.external_id, hash: args.hash }, args.view),
    );
  }

  /** views.publish: an unknown user is `invalid_arguments` "invalid `user_id`", as the method's example answers. */
  private publishView(args: Parsed<'views.publish'>): MethodResult {
    if (!this.users.has(args.user_id)) return slackError('invalid_arguments', ['invalid `user_id`']);
    return this.viewAnswer(this.views.publish(args.user_id, args.hash, args.view));
  }

  /** The members of a user group, as the scenario defines it (for tests; the app asks the API). */
  userGroupMembersOf(id: string): string[] | undefined {
    const group = this.userGroups.get(id);
    return group ? [...group.users] : undefined;
  }

  private authTest(): AuthTestResponse {
    return {
      ok: true,
      url: `https://${this.teamDomain}.slack.com/`,
      team: this.teamDomain,
      user: SANDBOX_BOT.name,
      team_id: this.teamId,
      user_id: SANDBOX_BOT.userId,
      bot_id: SANDBOX_BOT.botId,
      app_id: SANDBOX_BOT.appId,
      is_enterprise_install: false,
    };
  }

  /**
   * users.lookupByEmail: a user's address or one of its aliases, in any case, answers that user
   * (whose profile shows the primary address); an unknown address → `users_not_found`.
   */
  private lookupByEmail(email: string): UsersLookupByEmailResponse | SlackErrorResponse {
    const user = this.usersByEmail.get(email.toLowerCase());
    if (!user) return slackError('users_not_found');
    return { ok: true, user: this.userObject(user) };
  }

  /** users.info: unknown id → `user_not_found`. */
  private userInfo(id: string): UsersInfoResponse | SlackErrorResponse {
    const user = this.users.get(id);
    if (!user) return slackError('user_not_found');
    return { ok: true, user: this.userObject(user) };
  }

  private userObject(user: SlackUserInput) {
    return {
      id: user.id,
      team_id: this.teamId,
      name: user.name,
      real_name: user.name,
      deleted: false,
      is_bot: false,
      is_app_user: false,
      profile: { email: user.email, real_name: user.name, display_name: user.name },
    };
  }

  /**
   * conversations.open: `users` is a comma-separated list (or `channel` to resume one); neither →
   * `users_list_not_supplied`; an unknown id → `user_not_found`; more than 8 → `too_many_users`.
   * The same user always gets the same DM id; a second open says `already_open`.
   */
  private openConversation(
    args: Parsed<'conversations.open'>,
  ): ConversationsOpenResponse | SlackErrorResponse {
    if (args.channel !== undefined && args.channel !== '') {
      const channel = this.channels.get(args.channel);
      if (!channel) return slackError('channel_not_found');
      // Only a DM (or group DM) can be resumed this way.
      if (channel.kind !== 'im') return slackError('method_not_supported_for_channel_type');
      channel.opened = true;
      return {
        ok: true,
        no_op: true,
        already_open: true,
        channel: this.channelObject(channel, args.return_im),
      };
    }
    const ids = (Array.isArray(args.users) ? args.users : (args.users ?? '').split(','))
      .map((id) => id.trim())
      .filter((id) => id !== '');
    if (ids.length === 0) return slackError('users_list_not_supplied');
    if (ids.length > MAX_CONVERSATION_USERS) return slackError('too_many_users');
    for (const id of ids) if (!this.users.has(id)) return slackError('user_not_found');
    if (ids.length > 1) {
      return slackError('invalid_arguments', ['the sandbox does not model multi-person DMs']);
    }
    const [id] = ids as [string];
    const channel = this.dmOf(id);
    const alreadyOpen = channel.opened;
    channel.opened = true;
    const object = this.channelObject(channel, args.return_im);
    return alreadyOpen
      ? { ok: true, no_op: true, already_open: true, channel: object }
      : { ok: true, channel: object };
  }

  private channelObject(channel: DirectMessage, full: boolean | undefined) {
    return full
      ? { id: channel.id, is_im: true, is_open: true, user: channel.user, created: 0 }
      : { id: channel.id };
  }

  /** The DM between the bot and a user: created on first use, with a stable id derived from the user. */
  private dmOf(userId: string): DirectMessage {
    const id = dmChannelId(userId);
    let channel = this.channels.get(id);
    if (channel?.kind !== 'im') {
      channel = { kind: 'im', id, user: userId, opened: false, messages: [] };
      this.channels.set(id, channel);
    }
    return channel;
  }

  /**
   * chat.postMessage and chat.postEphemeral accept a DM id or a user id (which means "the app's DM
   * with that user"), or a channel the workspace has; anything else is `channel_not_found`.
   */
  private resolveChannel(idOrUser: string): Channel | undefined {
    const channel = this.channels.get(idOrUser);
    if (channel) return channel;
    if (this.users.has(idOrUser)) return this.dmOf(idOrUser);
    return undefined;
  }

  /**
   * Reads text/blocks as chat.postMessage documents them: "One of these arguments is required"
   * (`no_text`); blocks that are not a JSON array → `invalid_blocks_format`; blocks Slack would
   * not render → `invalid_blocks`.
   */
  private readContent(
    args: { text?: string | undefined; blocks?: string | unknown[] | undefined; attachments?: unknown },
    required: boolean,
  ):
    | { ok: true; text: string | undefined; blocks: Record<string, unknown>[] | undefined }
    | { ok: false; response: SlackErrorResponse } {
    if (args.attachments !== undefined) {
      return {
        ok: false,
        response: slackError('invalid_arguments', ['the sandbox does not model attachments']),
      };
    }
    let blocks: unknown = args.blocks;
    if (typeof blocks === 'string') {
      try {
        blocks = JSON.parse(blocks);
      } catch {
        return { ok: false, response: slackError('invalid_blocks_format') };
      }
      if (!Array.isArray(blocks)) return { ok: false, response: slackError('invalid_blocks_format') };
      if (prototypeKeyPaths(blocks).length > 0) {
        return {
          ok: false,
          response: slackError(
            'invalid_blocks',
            prototypeKeyPaths(blocks).map((path) => `${path}: not an accepted key`),
          ),
        };
      }
    }
    let checked: Record<string, unknown>[] | undefined;
    if (blocks !== undefined) {
      const result = validateBlocks(blocks);
      if (!result.ok) return { ok: false, response: slackError('invalid_blocks', result.errors) };
      checked = result.blocks;
    }
    const text = args.text === undefined ? undefined : args.text.slice(0, MAX_TEXT);
    if (required && (text === undefined || text === '') && (checked === undefined || checked.length === 0)) {
      return { ok: false, response: slackError('no_text') };
    }
    return { ok: true, text, blocks: checked };
  }

  private postMessage(args: Parsed<'chat.postMessage'>): MethodOutcome {
    const content = this.readContent(args, true);
    if (!content.ok) return { response: content.response, events: [] };
    const channel = this.resolveChannel(args.channel);
    if (!channel) return { response: slackError('channel_not_found'), events: [] };
    const refused = this.botCannotPost(channel);
    if (refused) return { response: slackError(refused), events: [] };
    // A reply goes into the thread of a message of the same conversation; a reply to a reply joins
    // its parent's thread (threads are one level deep). An unknown parent is `thread_not_found`,
    // the code Slack's thread methods use for a thread_ts that names no message.
    let threadTs: string | undefined;
    if (args.thread_ts !== undefined) {
      const parent = channel.messages.find((m) => m.ts === args.thread_ts);
      if (!parent) return { response: slackError('thread_not_found'), events: [] };
      threadTs = parent.threadTs ?? parent.ts;
    }
    const ts = this.nextTs();
    const message: RecordedMessage = {
      channel: channel.id,
      ts,
      type: 'message',
      user: SANDBOX_BOT.userId,
      botId: SANDBOX_BOT.botId,
      appId: SANDBOX_BOT.appId,
      team: this.teamId,
      text: content.text ?? '',
      blocks: withSlackIds(content.blocks ?? [], ts),
      ...(threadTs !== undefined ? { threadTs } : {}),
    };
    channel.messages.push(message);
    this.messageLog.push(message);
    const response: ChatPostMessageResponse = {
      ok: true,
      channel: channel.id,
      ts,
      message: {
        type: 'message',
        subtype: 'bot_message',
        text: message.text,
        user: message.user,
        bot_id: message.botId,
        app_id: message.appId,
        team: message.team,
        ts,
        blocks: structuredClone(message.blocks) as unknown as ResponseBlocks,
        ...(message.threadTs !== undefined ? { thread_ts: message.threadTs } : {}),
      },
    };
    return { response, events: [{ kind: 'posted', message: structuredClone(message) }] };
  }

  /**
   * chat.update: unknown channel → `channel_not_found`, unknown ts → `message_not_found`. Blocks
   * left out keep the previous blocks ("If you don't include this field, the message's previous
   * blocks will be retained"); so does text.
   */
  private updateMessage(args: Parsed<'chat.update'>): MethodOutcome {
    const content = this.readContent(args, true);
    if (!content.ok) return { response: content.response, events: [] };
    // Unlike posting, updating needs the conversation id the post answered with, not a user id.
    const channel = this.channels.get(args.channel);
    if (!channel) return { response: slackError('channel_not_found'), events: [] };
    const message = channel.messages.find((m) => m.ts === args.ts);
    if (!message) return { response: slackError('message_not_found'), events: [] };
    this.replace(message, content.text, content.blocks);
    const response: ChatUpdateResponse = {
      ok: true,
      channel: channel.id,
      ts: message.ts,
      text: message.text,
      message: {
        type: 'message',
        text: message.text,
        user: message.user,
        bot_id: message.botId,
        app_id: message.appId,
        team: message.team,
        blocks: structuredClone(message.blocks) as unknown as UpdateResponseBlocks,
        ...(message.edited ? { edited: { ...message.edited } } : {}),
      },
    };
    return { response, events: [{ kind: 'updated', message: structuredClone(message) }] };
  }

  private replace(
    message: RecordedMessage,
    text: string | undefined,
    blocks: Record<string, unknown>[] | undefined,
  ) {
    if (text !== undefined) message.text = text;
    if (blocks !== undefined) message.blocks = withSlackIds(blocks, message.ts);
    message.edited = { user: SANDBOX_BOT.userId, ts: this.nextTs() };
  }

  /**
   * chat.postEphemeral: "The user should be in the channel specified by the channel argument" →
   * `user_not_in_channel`; in a DM only its member is in the channel.
   */
  private postEphemeral(args: Parsed<'chat.postEphemeral'>): ChatPostEphemeralResponse | SlackErrorResponse {
    const content = this.readContent(args, true);
    if (!content.ok) return content.response;
    const channel = this.resolveChannel(args.channel);
    if (!channel) return slackError('channel_not_found');
    const refused = this.botCannotPost(channel);
    if (refused) return slackError(refused);
    if (!this.users.has(args.user)) return slackError('user_not_found');
    if (!this.isMember(channel, args.user)) return slackError('user_not_in_channel');
    const messageTs = this.nextTs();
    this.ephemeralLog.push({
      channel: channel.id,
      user: args.user,
      messageTs,
      text: content.text ?? '',
      blocks: withSlackIds(content.blocks ?? [], messageTs),
      via: 'chat.postEphemeral',
    });
    return { ok: true, message_ts: messageTs };
  }

  /**
   * A `response_url` for an interaction on a message, as Slack puts one in every block_actions
   * payload. Served by the sandbox, so an app that answers through it stays on loopback.
   */
  registerResponseUrl(context: ResponseUrlContext): string {
    const id = createHash('sha256')
      .update(`${context.channel}:${context.messageTs}:${context.user}:${this.responseUrls.size}`)
      .digest('hex')
      .slice(0, 24);
    this.responseUrls.set(id, { ...context });
    return id;
  }

  /**
   * A POST to a response_url (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses):
   * `replace_original` replaces the message, `delete_original` deletes it, otherwise a new message,
   * ephemeral (the default `response_type`) or `in_channel`. Slack documents no error contract
   * for response_url; the sandbox answers 404 or 400 with a short reason so a mistake is visible.
   * It does not enforce the documented "five times within 30 minutes".
   */
  respond(
    id: string,
    body: unknown,
  ): { status: number; response: { ok: boolean; error?: string }; events: MessageEvent[] } {
    const context = this.responseUrls.get(id);
    if (!context) return { status: 404, response: { ok: false, error: 'unknown_response_url' }, events: [] };
    const parsed = responseUrlBody.safeParse(body);
    if (!parsed.success)
      return { status: 400, response: { ok: false, error: 'invalid_arguments' }, events: [] };
    const args = parsed.data;
    const channel = this.channels.get(context.channel);
    const message = channel?.messages.find((m) => m.ts === context.messageTs);
    if (args.delete_original) {
      if (!channel || !message)
        return { status: 404, response: { ok: false, error: 'message_not_found' }, events: [] };
      channel.messages.splice(channel.messages.indexOf(message), 1);
      this.messageLog.splice(this.messageLog.indexOf(message), 1);
      return {
        status: 200,
        response: { ok: true },
        events: [{ kind: 'deleted', message: structuredClone(message) }],
      };
    }
    const content = this.readContent(args, true);
    if (!content.ok)
      return { status: 400, response: { ok: false, error: content.response.error }, events: [] };
    if (args.replace_original) {
      if (!message) return { status: 404, response: { ok: false, error: 'message_not_found' }, events: [] };
      // A replacement is a whole new message body: blocks left out are gone, not kept.
      this.replace(message, content.text ?? '', content.blocks ?? []);
      return {
        status: 200,
        response: { ok: true },
        events: [{ kind: 'updated', message: structuredClone(message) }],
      };
    }
    if (args.response_type === 'in_channel') {
      const posted = this.postMessage({
        channel: context.channel,
        text: content.text,
        blocks: content.blocks,
      });
      return { status: 200, response: { ok: true }, events: posted.events };
    }
    const messageTs = this.nextTs();
    this.ephemeralLog.push({
      channel: context.channel,
      user: context.user,
      messageTs,
      text: content.text ?? '',
      blocks: withSlackIds(content.blocks ?? [], messageTs),
      via: 'response_url',
    });
    return { status: 200, response: { ok: true }, events: [] };
  }

  /** Message timestamps: unique and increasing, Slack's `seconds.microseconds` form. */
  private nextTs(): string {
    const seconds = Math.floor(this.clock().getTime() / 1000);
    let next = { seconds, micros: 100 };
    if (seconds <= this.lastTs.seconds) {
      next = { seconds: this.lastTs.seconds, micros: this.lastTs.micros + 100 };
      if (next.micros > 999_999) next = { seconds: next.seconds + 1, micros: 100 };
    }
    this.lastTs = next;
    return `${next.seconds}.${String(next.micros).padStart(6, '0')}`;
  }

  messages(channel?: string): RecordedMessage[] {
    return structuredClone(
      channel === undefined ? this.messageLog : this.messageLog.filter((m) => m.channel === channel),
    );
  }

  message(channel: string, ts: string): RecordedMessage | undefined {
    const found = this.channels.get(channel)?.messages.find((m) => m.ts === ts);
    return found ? structuredClone(found) : undefined;
  }

  ephemerals(): RecordedEphemeral[] {
    return structuredClone(this.ephemeralLog);
  }

  calls(): RecordedCall[] {
    return structuredClone(this.callLog);
  }

  /** The DM id the workspace uses (or will use) for a user. */
  dmChannelFor(userId: string): string {
    return dmChannelId(userId);
  }
}

const responseUrlBody = z.object({
  text: z.string().optional(),
  blocks: blocksArg,
  attachments: z.unknown().optional(),
  replace_original: z.boolean().optional(),
  delete_original: z.boolean().optional(),
  response_type: z.enum(['ephemeral', 'in_channel']).optional(),
  thread_ts: messageTs.optional(),
});

/** `D` + 10 upper-case characters from the user id: stable across calls and across runs. */
export function dmChannelId(userId: string): string {
  return `D${createHash('sha256').update(userId).digest('hex').slice(0, 10).toUpperCase()}`;
}

/**
 * Stored messages carry ids Slack generates when the sender left them out ("If not specified, a
 * block_id will be generated"; the same for an element's action_id), so an interaction payload can
 * always name the block and the action.
 */
function withSlackIds(blocks: Record<string, unknown>[], salt: string): Record<string, unknown>[] {
  const copy = structuredClone(blocks);
  const used = new Set(
    copy.map((block) => block.block_id).filter((id): id is string => typeof id === 'string'),
  );
  const generate = (seed: string, taken: Set<string>) => {
    for (let attempt = 0; ; attempt += 1) {
      const id = createHash('sha256').update(`${salt}:${seed}:${attempt}`).digest('base64url').slice(0, 5);
      if (!taken.has(id)) {
        taken.add(id);
        return id;
      }
    }
  };
  copy.forEach((block, index) => {
    if (typeof block.block_id !== 'string') block.block_id = generate(`block:${index}`, used);
    const actionIds = new Set<string>();
    for (const { element } of interactiveElements(block)) {
      if (typeof element.action_id === 'string') actionIds.add(element.action_id);
    }
    interactiveElements(block).forEach(({ element }, position) => {
      if (typeof element.action_id !== 'string')
        element.action_id = generate(`action:${index}:${position}`, actionIds);
    });
  });
  return copy;
}
