import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type BlockSurface, isRecord, validateBlocks } from './blockKit';

/**
 * Views (modals and Home tabs) and the trigger ids that open them, as Slack keeps them. Sources:
 * - Modal views: https://docs.slack.dev/reference/views/modal-views (title ≤ 24, ≤ 100 blocks,
 *   close/submit ≤ 24, "submit is required when an input block is within the blocks array",
 *   private_metadata ≤ 3000, callback_id ≤ 255, external_id ≤ 255 and unique on the team).
 * - Home tab views: https://docs.slack.dev/reference/views/home-tab-views (type `home`, ≤ 100 blocks).
 * - views.open / views.update / views.publish: https://docs.slack.dev/reference/methods/views.open
 *   (…/views.update, …/views.publish): a trigger is exchanged once (`exchanged_trigger_id`), expires
 *   (`expired_trigger_id`; "3 seconds" per the modals guide), an unknown one is
 *   `invalid_arguments` "invalid `trigger_id`"; a stale `hash` is `hash_conflict`; an unknown
 *   view_id/external_id is `not_found`; a view over 250 kB is `view_too_large`; a reused
 *   external_id is `duplicate_external_id`.
 */

/** "trigger_id … expires in 3 seconds" (https://docs.slack.dev/surfaces/modals#lifecycle). */
export const TRIGGER_LIFETIME_MS = 3_000;

/** views.open / views.update / views.publish: "view_too_large … greater than 250kb". */
export const MAX_VIEW_BYTES = 250 * 1024;

const tooLong = (limit: number) => `must be less than ${limit + 1} characters`;

function plainText(max: number) {
  return z.strictObject({
    type: z.literal('plain_text'),
    text: z.string().min(1).max(max, tooLong(max)),
    emoji: z.boolean().optional(),
  });
}

const common = {
  blocks: z.array(z.unknown()),
  private_metadata: z.string().max(3000, tooLong(3000)).optional(),
  callback_id: z.string().max(255, tooLong(255)).optional(),
  external_id: z.string().max(255, tooLong(255)).optional(),
};

const modalView = z.strictObject({
  type: z.literal('modal'),
  title: plainText(24),
  close: plainText(24).optional(),
  submit: plainText(24).optional(),
  clear_on_close: z.boolean().optional(),
  notify_on_close: z.boolean().optional(),
  submit_disabled: z.boolean().optional(),
  ...common,
});

const homeView = z.strictObject({ type: z.literal('home'), ...common });

type PlainText = z.infer<ReturnType<typeof plainText>>;

/** What a person entered in one input element, as `view.state.values` carries it. */
export type ViewStateValue =
  | { type: 'plain_text_input'; value: string | null }
  | { type: 'users_select'; selected_user: string | null }
  | {
      type: 'static_select';
      selected_option: { text: { type: 'plain_text'; text: string; emoji: boolean }; value: string } | null;
    };

export interface StoredView {
  id: string;
  type: 'modal' | 'home';
  /** The user who sees it. */
  user: string;
  title: PlainText | null;
  close: PlainText | null;
  submit: PlainText | null;
  blocks: Record<string, unknown>[];
  privateMetadata: string;
  callbackId: string;
  externalId: string;
  clearOnClose: boolean;
  notifyOnClose: boolean;
  hash: string;
  /** A modal is shown until it is submitted or closed; a Home tab always is. */
  open: boolean;
  /** How many times it was set: 1 when opened or first published, +1 for each update. */
  revisions: number;
}

/** The view object Slack answers with (views.*) and sends in view_submission payloads. */
export interface ViewPayload {
  id: string;
  team_id: string;
  type: 'modal' | 'home';
  title?: PlainText;
  close: PlainText | null;
  submit: PlainText | null;
  blocks: Record<string, unknown>[];
  private_metadata: string;
  callback_id: string;
  external_id: string;
  state: { values: Record<string, Record<string, ViewStateValue>> };
  hash: string;
  clear_on_close: boolean;
  notify_on_close: boolean;
  root_view_id: string;
  previous_view_id: null;
  app_id: string;
  app_installed_team_id: string;
  bot_id: string;
}

export type ViewError = { error: string; details?: string[] };

interface Trigger {
  user: string;
  issuedAt: number;
  exchanged: boolean;
}

export interface ViewIdentity {
  teamId: string;
  appId: string;
  botId: string;
}

export class ViewRegistry {
  private readonly views = new Map<string, StoredView>();
  private readonly homeOf = new Map<string, string>();
  private readonly triggers = new Map<string, Trigger>();
  private counter = 0;

  constructor(
    private readonly identity: ViewIdentity,
    private readonly now: () => number,
    private readonly withIds: (blocks: Record<string, unknown>[], salt: string) => Record<string, unknown>[],
    private readonly triggerLifetimeMs = TRIGGER_LIFETIME_MS,
  ) {}

  /**
   * A trigger id, as Slack puts one in every interaction payload (a click, a slash command, a
   * view submission) for the user who acted. `<seconds>.<number>.<hex>`, like Slack's.
   */
  issueTrigger(user: string): string {
    this.counter += 1;
    const issuedAt = this.now();
    const hex = createHash('sha256').update(`trigger:${user}:${issuedAt}:${this.counter}`).digest('hex');
    const id = `${Math.floor(issuedAt / 1000)}.${this.counter}${parseInt(hex.slice(0, 6), 16)}.${hex.slice(6, 38)}`;
    this.triggers.set(id, { user, issuedAt, exchanged: false });
    return id;
  }

  /** views.open: exchanges the trigger for a modal shown to the user who acted. */
  open(triggerId: string, rawView: unknown): { ok: true; view: StoredView } | ViewError {
    const trigger = this.triggers.get(triggerId);
    if (!trigger) return { error: 'invalid_arguments', details: ['invalid `trigger_id`'] };
    if (trigger.exchanged) return { error: 'exchanged_trigger_id' };
    if (this.now() - trigger.issuedAt > this.triggerLifetimeMs) return { error: 'expired_trigger_id' };
    const parsed = this.parse(rawView, 'modal');
    if ('error' in parsed) return parsed;
    const duplicate = this.duplicateExternalId(parsed.externalId, undefined);
    if (duplicate) return duplicate;
    trigger.exchanged = true;
    // One modal at a time per person: opening another one replaces what they were looking at.
    for (const view of this.views.values()) {
      if (view.user === trigger.user && view.type === 'modal') view.open = false;
    }
    const id = this.nextViewId();
    const view: StoredView = {
      ...parsed,
      id,
      user: trigger.user,
      hash: this.nextHash(),
      open: true,
      revisions: 1,
    };
    view.blocks = this.withIds(view.blocks, id);
    this.views.set(id, view);
    return { ok: true, view };
  }

  /** views.update: by view_id or external_id (exactly one), of a view still shown. */
  update(
    by: { viewId?: string | undefined; externalId?: string | undefined; hash?: string | undefined },
    rawView: unknown,
  ): { ok: true; view: StoredView } | ViewError {
    const target =
      by.viewId !== undefined
        ? this.views.get(by.viewId)
        : [...this.views.values()].find(
            (view) => view.externalId !== '' && view.externalId === by.externalId,
          );
    if (!target?.open) return { error: 'not_found' };
    if (by.hash !== undefined && by.hash !== target.hash) return { error: 'hash_conflict' };
    const parsed = this.parse(rawView, target.type);
    if ('error' in parsed) return parsed;
    const duplicate = this.duplicateExternalId(parsed.externalId, target.id);
    if (duplicate) return duplicate;
    Object.assign(target, parsed, { hash: this.nextHash(), revisions: target.revisions + 1 });
    target.blocks = this.withIds(parsed.blocks, `${target.id}:${target.revisions}`);
    return { ok: true, view: target };
  }

  /** views.publish: the user's Home tab, created or replaced. */
  publish(
    user: string,
    hash: string | undefined,
    rawView: unknown,
  ): { ok: true; view: StoredView } | ViewError {
    const existing = this.homeOf.has(user) ? this.views.get(this.homeOf.get(user) as string) : undefined;
    if (hash !== undefined && existing && hash !== existing.hash) return { error: 'hash_conflict' };
    const parsed = this.parse(rawView, 'home');
    if ('error' in parsed) return parsed;
    const duplicate = this.duplicateExternalId(parsed.externalId, existing?.id);
    if (duplicate) return duplicate;
    if (existing) {
      Object.assign(existing, parsed, { hash: this.nextHash(), revisions: existing.revisions + 1 });
      existing.blocks = this.withIds(parsed.blocks, `${existing.id}:${existing.revisions}`);
      return { ok: true, view: existing };
    }
    const id = this.nextViewId();
    const view: StoredView = { ...parsed, id, user, hash: this.nextHash(), open: true, revisions: 1 };
    view.blocks = this.withIds(view.blocks, id);
    this.views.set(id, view);
    this.homeOf.set(user, id);
    return { ok: true, view };
  }

  /** The person closed the modal, or the app's answer to a submission closed it. */
  close(viewId: string): void {
    const view = this.views.get(viewId);
    if (view?.type === 'modal') view.open = false;
  }

  get(viewId: string): StoredView | undefined {
    return this.views.get(viewId);
  }

  /** The modal a user is looking at, if any. */
  openModalOf(user: string): StoredView | undefined {
    return [...this.views.values()]
      .reverse()
      .find((view) => view.user === user && view.type === 'modal' && view.open);
  }

  home(user: string): StoredView | undefined {
    const id = this.homeOf.get(user);
    return id === undefined ? undefined : this.views.get(id);
  }

  all(): StoredView[] {
    return [...this.views.values()];
  }

  payload(view: StoredView, values: ViewPayload['state']['values'] = {}): ViewPayload {
    return {
      id: view.id,
      team_id: this.identity.teamId,
      type: view.type,
      ...(view.title ? { title: view.title } : {}),
      close: view.close,
      submit: view.submit,
      blocks: structuredClone(view.blocks),
      private_metadata: view.privateMetadata,
      callback_id: view.callbackId,
      external_id: view.externalId,
      state: { values },
      hash: view.hash,
      clear_on_close: view.clearOnClose,
      notify_on_close: view.notifyOnClose,
      root_view_id: view.id,
      previous_view_id: null,
      app_id: this.identity.appId,
      app_installed_team_id: this.identity.teamId,
      bot_id: this.identity.botId,
    };
  }

  private parse(
    raw: unknown,
    expected: 'modal' | 'home',
  ): Omit<StoredView, 'id' | 'user' | 'hash' | 'open' | 'revisions'> | ViewError {
    let value = raw;
    if (typeof value === 'string') {
      if (Buffer.byteLength(value) > MAX_VIEW_BYTES) return { error: 'view_too_large' };
      try {
        value = JSON.parse(value);
      } catch {
        return { error: 'invalid_arguments', details: ['invalid `view`: not JSON'] };
      }
    } else if (Buffer.byteLength(JSON.stringify(value ?? null)) > MAX_VIEW_BYTES) {
      return { error: 'view_too_large' };
    }
    if (!isRecord(value)) return { error: 'invalid_arguments', details: ['invalid `view`: not an object'] };
    if (value.type !== expected) {
      return {
        error: 'invalid_arguments',
        details: [`invalid \`view\`: type must be "${expected}" here, not ${JSON.stringify(value.type)}`],
      };
    }
    const schema = expected === 'modal' ? modalView : homeView;
    const result = schema.safeParse(value);
    if (!result.success) {
      return {
        error: 'invalid_arguments',
        details: result.error.issues.map(
          (issue) => `${issue.message} [json-pointer:/view/${issue.path.map(String).join('/')}]`,
        ),
      };
    }
    const view = result.data as z.infer<typeof modalView> | z.infer<typeof homeView>;
    const surface: BlockSurface = expected;
    const blocks = validateBlocks(view.blocks, surface);
    if (!blocks.ok) {
      return {
        error: 'invalid_arguments',
        details: blocks.errors.map((error) =>
          error.replace('[json-pointer:/blocks', '[json-pointer:/view/blocks'),
        ),
      };
    }
    const modal = view.type === 'modal' ? view : undefined;
    if (modal && modal.submit === undefined && blocks.blocks.some((block) => block.type === 'input')) {
      return {
        error: 'invalid_arguments',
        details: [
          'submit is required when an input block is within the blocks array [json-pointer:/view/submit]',
        ],
      };
    }
    return {
      type: expected,
      title: modal?.title ?? null,
      close: modal?.close ?? null,
      submit: modal?.submit ?? null,
      blocks: blocks.blocks,
      privateMetadata: view.private_metadata ?? '',
      callbackId: view.callback_id ?? '',
      externalId: view.external_id ?? '',
      clearOnClose: modal?.clear_on_close ?? false,
      notifyOnClose: modal?.notify_on_close ?? false,
    };
  }

  private duplicateExternalId(externalId: string, self: string | undefined): ViewError | undefined {
    if (externalId === '') return undefined;
    const taken = [...this.views.values()].some((view) => view.id !== self && view.externalId === externalId);
    return taken ? { error: 'duplicate_external_id' } : undefined;
  }

  private nextViewId(): string {
    this.counter += 1;
    return `V${createHash('sha256').update(`view:${this.counter}`).digest('hex').slice(0, 10).toUpperCase()}`;
  }

  private nextHash(): string {
    this.counter += 1;
    const hex = createHash('sha256').update(`hash:${this.counter}`).digest('hex');
    return `${Math.floor(this.now() / 1000)}.${hex.slice(0, 8)}`;
  }
}
