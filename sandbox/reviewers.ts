import { type Grant, viaLabel } from '../functions/core/grant';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from '../functions/slack/approval-blocks';
import { REASONS, type ReasonCode, reasonActionIdFor } from '../functions/slack/blocks';
import type { GrantSelector, ReviewerBehaviour, Scenario, SecurityCommand } from './scenario';
import {
  chooseOverflowOption,
  chooseSelectOption,
  clickButton,
  type InteractionOptions,
} from './slack/interactions';
import type { RecordedMessage, SlackSandbox, ViewPayload } from './slack/server';

/** What a simulated person did on a review message. */
export type ClickKind =
  | 'keep'
  | 'revoke'
  | 'reason'
  | 'justified_keep'
  | 'downgrade'
  | 'keep_all'
  | 'delegate'
  | 'delegate_all';

export interface Click {
  reviewer: string;
  slackUserId: string;
  /** The grant acted on; absent for the whole-task buttons (keep_all, delegate_all). */
  grantId?: string;
  kind: ClickKind;
  /** keep or revoke for the decision buttons and reasons; absent for the others. */
  decision?: 'keep' | 'revoke';
  /** Set when the reviewer chose a reason from the "…" menu instead of clicking the button. */
  reason?: ReasonCode;
  /** The entitlement chosen in "Downgrade to…". */
  downgradeTo?: string;
  /** The written reason typed into the "Keep…" modal. */
  justification?: string;
  /** Who a grant (or the task) was handed to, by login. */
  delegatedTo?: string;
  status: number;
  at: string;
}

/** A security team member's answer to the revocation guard's request. */
export interface ApprovalClick {
  approver: string;
  slackUserId: string;
  decision: 'approve' | 'reject';
  status: number;
  at: string;
}

/** A slash command a security team member typed, and what the app answered them. */
export interface CommandRun {
  by: string;
  slackUserId: string;
  text: string;
  status: number;
  /** The acknowledgement's text, then each reply the app sent (response_url), in order. */
  answers: string[];
  at: string;
}

export interface SimulatedReviewers {
  clicks(): Click[];
  /** The security team's Approve / Reject clicks on held revocations. */
  approvalClicks(): ApprovalClick[];
  /** Every `/access-review` command typed so far. */
  commands(): CommandRun[];
  /**
   * The security team types its `after_campaign` commands, in scenario order (one person's after
   * another's), each answered before the next. The demo calls it once its campaign completed.
   */
  afterCampaign(): Promise<CommandRun[]>;
  /** Resolves when every reviewer who answers has no button left to click. */
  idle(): Promise<void>;
  stop(): void;
}

export interface SimulatedReviewersOptions {
  scenario: Scenario;
  slack: SlackSandbox;
  slackEndpoint: string;
  signingSecret: string;
  /** The simulated person reads who and what a grant is about from the message; this gives the same facts. */
  lookupGrant(campaignId: string, grantId: string): Promise<Grant | undefined>;
  thinkMs: number;
  onError(message: string): void;
  /** A line for the transcript each time a simulated person does something worth telling. */
  report?(line: string): void;
}

const SLASH_COMMAND = '/access-review';
/** How long a person waits for a modal to appear after clicking the button that opens it. */
const MODAL_WAIT_MS = 5_000;
/** How long a person waits for the app's reply to a command before giving up on reading it. */
const COMMAND_REPLY_WAIT_MS = 15_000;
/** How often a person clicks a button again when the modal it should open does not appear. */
const MAX_MODAL_ATTEMPTS = 3;
/** How often a person clicks "Keep all remaining" again when a slow app kept only part of the rest. */
const MAX_BULK_CLICKS = 4;
/** How long a person waits for the message to change after "Keep all remaining". */
const REDRAW_WAIT_MS = 5_000;
/** How often a simulated reviewer clicks again on a message whose redraw was lost. */
const MAX_STALE_RETRIES = 3;

function matches(selector: Omit<GrantSelector, 'reason'>, grant: Grant): boolean {
  return (
    (selector.principal === undefined ||
      selector.principal.toLowerCase() === grant.principal.toLowerCase()) &&
    (selector.resource === undefined || selector.resource.toLowerCase() === grant.resource.toLowerCase()) &&
    (selector.entitlement === undefined || selector.entitlement === grant.entitlement) &&
    (selector.kind === undefined || selector.kind === grant.grantKind) &&
    (selector.holder === undefined || selector.holder.toLowerCase() === grant.holder?.toLowerCase()) &&
    (selector.secretName === undefined || selector.secretName === grant.raw.secretName) &&
    (selector.via === undefined || viaLabel(grant.via).startsWith(selector.via))
  );
}

/**
 * What this person decides about a grant: an explicit keep wins, then revoke, then their default.
 * The first matching rule's reason, if it has one, comes with the decision.
 */
export function decide(
  behaviour: Pick<ReviewerBehaviour, 'keep' | 'revoke' | 'default'>,
  grant: Grant,
): { decision: 'keep' | 'revoke'; reason?: ReasonCode } {
  for (const decision of ['keep', 'revoke'] as const) {
    const rule = behaviour[decision].find((selector) => matches(selector, grant));
    if (rule) return rule.reason ? { decision, reason: rule.reason } : { decision };
  }
  return { decision: behaviour.default };
}

/** What a person does about one grant of a message, read from the controls the message shows for it. */
export type GrantPlan =
  | { kind: 'delegate'; to: string; note?: string }
  | { kind: 'downgrade'; to: string }
  | { kind: 'revoke'; reason?: ReasonCode }
  | { kind: 'keep'; reason?: ReasonCode }
  | { kind: 'justified_keep'; text: string }
  /** A plain keep left for "Keep all remaining". */
  | { kind: 'bulk_keep' };

/**
 * The plan for a grant: a hand-over rule first, then a downgrade the message offers, then keep or
 * revoke. A keep becomes a written reason when the message shows "Keep…" instead of "Keep", and is
 * left for the bulk button when the person keeps the rest in one click.
 */
export function planFor(
  behaviour: ReviewerBehaviour,
  grant: Grant,
  controls: GrantControls,
  bulkKeep: boolean,
): GrantPlan {
  const delegate = behaviour.delegate.find((rule) => !rule.all && matches(rule, grant));
  if (delegate && controls.delegate) {
    return { kind: 'delegate', to: delegate.to, ...(delegate.note ? { note: delegate.note } : {}) };
  }
  const downgrade = behaviour.downgrade.find((rule) => matches(rule, grant));
  if (downgrade && controls.downgradeTo.includes(downgrade.to))
    return { kind: 'downgrade', to: downgrade.to };
  const { decision, reason } = decide(behaviour, grant);
  if (decision === 'revoke') return reason ? { kind: 'revoke', reason } : { kind: 'revoke' };
  if (controls.justify) {
    const rule = behaviour.justify.find((candidate) => matches(candidate, grant));
    return { kind: 'justified_keep', text: rule?.text ?? behaviour.defaultJustification };
  }
  if (bulkKeep && !reason) return { kind: 'bulk_keep' };
  return reason ? { kind: 'keep', reason } : { kind: 'keep' };
}

/** The controls a message shows for one open grant (its `decide:` actions block). */
export interface GrantControls {
  grantId: string;
  campaignId: string;
  /** Button value, as the message carries it. */
  value: string;
  keep: boolean;
  justify: boolean;
  revoke: boolean;
  delegate: boolean;
  /** Entitlements "Downgrade to…" offers, read from its options' text. */
  downgradeTo: string[];
}

const GRANT_ACTION = /^review_(keep|revoke|justify|delegate):(g_[0-9a-f]{32})$/;
const DOWNGRADE_ACTION = /^review_downgrade:(g_[0-9a-f]{32})$/;
const DOWNGRADE_TEXT = /^Downgrade to (.+)$/;

function elementsOf(block: Record<string, unknown>): Array<Record<string, unknown>> {
  return block.type === 'actions' && Array.isArray(block.elements)
    ? (block.elements as Array<Record<string, unknown>>)
    : [];
}

/** The grants a review message still offers decisions on, in the order it lists them. */
export function openGrants(message: Pick<RecordedMessage, 'blocks'>): GrantControls[] {
  const found = new Map<string, GrantControls>();
  for (const block of message.blocks) {
    for (const element of elementsOf(block)) {
      const actionId = typeof element.action_id === 'string' ? element.action_id : '';
      const grant = GRANT_ACTION.exec(actionId);
      const downgrade = DOWNGRADE_ACTION.exec(actionId);
      const grantId = grant?.[2] ?? downgrade?.[1];
      if (!grantId) continue;
      let controls = found.get(grantId);
      if (!controls) {
        controls = {
          grantId,
          campaignId: '',
          value: '',
          keep: false,
          justify: false,
          revoke: false,
          delegate: false,
          downgradeTo: [],
        };
        found.set(grantId, controls);
      }
      if (grant && typeof element.value === 'string') {
        controls.value = element.value;
        try {
          controls.campaignId = String((JSON.parse(element.value) as { c?: unknown }).c ?? '');
        } catch {
          // A value the person cannot read is a button they do not use.
        }
        controls[grant[1] as 'keep' | 'revoke' | 'justify' | 'delegate'] = true;
      }
      if (downgrade && Array.isArray(element.options)) {
        for (const option of element.options as Array<Record<string, unknown>>) {
          const text = (option.text as { text?: unknown } | undefined)?.text;
          const to = typeof text === 'string' ? DOWNGRADE_TEXT.exec(text)?.[1] : undefined;
          if (to) controls.downgradeTo.push(to);
        }
      }
    }
  }
  return [...found.values()].filter((controls) => controls.value !== '' && controls.campaignId !== '');
}

/** A whole-task button ("Keep all remaining", "Hand over all…") the message shows. */
function taskButton(
  message: Pick<RecordedMessage, 'blocks'>,
  prefix: 'review_keep_all:' | 'review_delegate_all:',
): { actionId: string; value: string; text: string } | undefined {
  for (const block of message.blocks) {
    for (const element of elementsOf(block)) {
      if (
        element.type === 'button' &&
        typeof element.action_id === 'string' &&
        element.action_id.startsWith(prefix) &&
        typeof element.value === 'string'
      ) {
        const text = (element.text as { text?: unknown } | undefined)?.text;
        return {
          actionId: element.action_id,
          value: element.value,
          text: typeof text === 'string' ? text : '',
        };
      }
    }
  }
  return undefined;
}

/** How many grants "Keep all remaining (N)" says it keeps; undefined when its text has no count. */
export function bulkCountOf(text: string): number | undefined {
  const count = /\((\d+)\)\s*$/.exec(text)?.[1];
  return count === undefined ? undefined : Number(count);
}

/** The option of a grant's "…" menu that shows this reason, read from the message as a person reads it. */
function reasonOption(
  message: RecordedMessage,
  grantId: string,
  reason: ReasonCode,
): { actionId: string; value: string } | undefined {
  const actionId = reasonActionIdFor(grantId);
  for (const block of message.blocks) {
    for (const element of elementsOf(block)) {
      if (element.type !== 'overflow' || element.action_id !== actionId || !Array.isArray(element.options))
        continue;
      for (const option of element.options as Array<Record<string, unknown>>) {
        const text = option.text as { text?: unknown } | undefined;
        if (text?.text === REASONS[reason] && typeof option.value === 'string') {
          return { actionId, value: option.value };
        }
      }
    }
  }
  return undefined;
}

/** The downgrade menu option whose text names `to`. */
function downgradeOption(message: RecordedMessage, grantId: string, to: string): string | undefined {
  for (const block of message.blocks) {
    for (const element of elementsOf(block)) {
      if (element.action_id !== `review_downgrade:${grantId}` || !Array.isArray(element.options)) continue;
      for (const option of element.options as Array<Record<string, unknown>>) {
        const text = (option.text as { text?: unknown } | undefined)?.text;
        if (text === `Downgrade to ${to}` && typeof option.value === 'string') return option.value;
      }
    }
  }
  return undefined;
}

/** The guard's Approve or Reject button in a message, as a person finds it. */
function approvalButton(
  message: RecordedMessage,
  actionId: string,
): { actionId: string; value: string } | undefined {
  for (const block of message.blocks) {
    for (const element of elementsOf(block)) {
      if (element.action_id === actionId && typeof element.value === 'string')
        return { actionId, value: element.value };
    }
  }
  return undefined;
}

/** A review message: a top-level message with review controls (a thread reply is not one). */
function isReviewMessage(message: RecordedMessage): boolean {
  return (
    message.threadTs === undefined &&
    message.blocks.some((block) =>
      elementsOf(block).some(
        (element) => typeof element.action_id === 'string' && element.action_id.startsWith('review_'),
      ),
    )
  );
}

/** A reminder, as a person recognises one: a reply in the review message's thread that says so. */
function isReminder(message: RecordedMessage): boolean {
  return message.threadTs !== undefined && /\breminder\b/i.test(message.text);
}

/** The first input of a modal whose element has this type: where a person types or picks. */
function inputOf(view: ViewPayload, type: string): { blockId: string; actionId: string } | undefined {
  for (const block of view.blocks) {
    const element = block.element as Record<string, unknown> | undefined;
    if (block.type === 'input' && element?.type === type) {
      return { blockId: String(block.block_id), actionId: String(element.action_id) };
    }
  }
  return undefined;
}

const DEFAULT_BEHAVIOUR: ReviewerBehaviour = {
  default: 'keep',
  keep: [],
  revoke: [],
  doubleClick: false,
  respond: true,
  keepAllRemaining: false,
  justify: [],
  defaultJustification: 'Still needed for their current role.',
  downgrade: [],
  delegate: [],
};

/**
 * The scenario's people in Slack. Each reviewer who answers reads their DM and acts on each grant
 * the message shows, through the app's real endpoint with signed requests, exactly as Slack would
 * deliver them: Keep or Revoke (or a reason from the "…" menu), "Keep…" with a written reason in
 * the modal it opens, "Downgrade to…", "Hand over…" to a colleague, and "Keep all remaining" for
 * the rest. What they can do is read from the message (the controls it shows); whom and what a
 * grant concerns comes from `lookupGrant`, the same facts its section states. Grants handed to
 * them arrive as a message of their own and are decided the same way. Someone who answers only
 * after a reminder waits for one in the message's thread. The security team answers the
 * revocation guard and types the scenario's `/access-review` commands.
 */
export function startSimulatedReviewers(options: SimulatedReviewersOptions): SimulatedReviewers {
  const { scenario, slack } = options;
  const report = options.report ?? (() => undefined);
  const byEmail = new Map(
    scenario.organization.members.flatMap((m) => (m.email ? [[m.email.toLowerCase(), m.login]] : [])),
  );
  const loginOfSlackUser = new Map<string, { login: string; name: string }>();
  const slackIdOfLogin = new Map<string, string>();
  for (const user of scenario.slack.users) {
    const login = [user.email, ...(user.aliases ?? [])]
      .map((email) => byEmail.get(email.toLowerCase()))
      .find((found) => found !== undefined);
    if (!login) continue;
    loginOfSlackUser.set(user.id, { login, name: user.name });
    slackIdOfLogin.set(login, user.id);
  }
  const userOfChannel = new Map(scenario.slack.users.map((u) => [slack.dmChannelFor(u.id), u.id]));
  const target = { appUrl: options.slackEndpoint, signingSecret: options.signingSecret };
  const clicks: Click[] = [];
  const approvalClicks: ApprovalClick[] = [];
  const commandRuns: CommandRun[] = [];
  const busy = new Set<string>();
  /** Reminders seen in each review message's thread (`channel/ts` → count). */
  const remindersSeen = new Map<string, number>();
  /** People whose `review_received` commands already ran, per campaign. */
  const commandsTyped = new Set<string>();
  /**
   * Each person's own review message per campaign (the first one they get): "Keep all remaining"
   * is clicked only there, never on a message of grants handed to them, whose bulk button would
   * reach their own task while they are still working through it.
   */
  const ownTaskMessage = new Map<string, string>();
  const working = new Set<Promise<void>>();
  let stopped = false;
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** What a grant is about, read once per grant (the facts its section states do not change). */
  const grants = new Map<string, Grant | undefined>();
  const grantOf = async (campaignId: string, grantId: string) => {
    if (!grants.has(grantId)) grants.set(grantId, await options.lookupGrant(campaignId, grantId));
    return grants.get(grantId);
  };

  /** Waits until the message is redrawn (or a few seconds pass: the redraw may be lost). */
  const waitForRedraw = async (channel: string, ts: string, before: RecordedMessage) => {
    const deadline = Date.now() + REDRAW_WAIT_MS;
    const drawn = JSON.stringify(before.blocks);
    while (!stopped && Date.now() < deadline && JSON.stringify(slack.message(channel, ts)?.blocks) === drawn)
      await pause(50);
  };

  const track = (job: Promise<void>) => {
    working.add(job);
    void job.finally(() => working.delete(job));
  };

  const typeCommand = async (login: string, text: string): Promise<CommandRun | undefined> => {
    const userId = slackIdOfLogin.get(login);
    if (!userId) {
      options.onError(`${login} is not in Slack and cannot type ${SLASH_COMMAND} ${text}`);
      return undefined;
    }
    const before = slack.ephemerals().filter((e) => e.user === userId).length;
    const response = await slack.sendCommand({ ...target, userId, command: SLASH_COMMAND, text });
    const answers: string[] = [];
    if (response.body.trim() !== '') {
      try {
        const ack = JSON.parse(response.body) as { text?: unknown };
        if (typeof ack.text === 'string') answers.push(ack.text);
      } catch {
        answers.push(response.body);
      }
    }
    // The reply comes through the command's response_url after the acknowledgement.
    const deadline = Date.now() + COMMAND_REPLY_WAIT_MS;
    const replyArrived = () => slack.ephemerals().filter((e) => e.user === userId).length > before;
    const acknowledgedOnly = answers.length === 1 && /^Working on/.test(answers[0] as string);
    while (acknowledgedOnly && !replyArrived() && Date.now() < deadline && !stopped) await pause(50);
    answers.push(
      ...slack
        .ephemerals()
        .filter((e) => e.user === userId)
        .slice(before)
        .map((e) => e.text),
    );
    const run: CommandRun = {
      by: login,
      slackUserId: userId,
      text,
      status: response.status,
      answers,
      at: new Date().toISOString(),
    };
    commandRuns.push(run);
    const last = answers.at(-1) ?? `(answered ${response.status})`;
    report(`${login} typed ${SLASH_COMMAND} ${text} → ${last.split('\n')[0]}`);
    if (response.status !== 200)
      options.onError(`${login}'s ${SLASH_COMMAND} ${text} was answered ${response.status}`);
    return run;
  };

  const commandsOf = (login: string, when: SecurityCommand['when']) =>
    (scenario.securityTeam[login]?.commands ?? []).filter((command) => command.when === when);

  const answerApproval = async (channel: string, ts: string, userId: string, login: string, name: string) => {
    const posted = slack.message(channel, ts);
    if (!posted) return;
    const answer = scenario.securityTeam[login]?.approval ?? 'ignore';
    if (answer === 'ignore') return;
    const button = approvalButton(posted, answer === 'approve' ? APPROVE_ACTION_ID : REJECT_ACTION_ID);
    if (!button) return;
    await pause(options.thinkMs);
    const response = await clickButton({
      ...interactionBase(channel, ts, userId, name, posted),
      actionId: button.actionId,
      value: button.value,
    });
    approvalClicks.push({
      approver: login,
      slackUserId: userId,
      decision: answer,
      status: response.status,
      at: new Date().toISOString(),
    });
    report(`${login} ${answer === 'approve' ? 'approved' : 'rejected'} the held revocations`);
    if (response.status !== 200) options.onError(`${login}'s ${answer} was answered ${response.status}`);
  };

  const interactionBase = (
    channel: string,
    ts: string,
    userId: string,
    name: string,
    message: RecordedMessage,
  ): Omit<InteractionOptions, 'actionId'> => ({
    appUrl: options.slackEndpoint,
    signingSecret: options.signingSecret,
    user: { id: userId, name },
    teamId: slack.teamId,
    channelId: channel,
    message,
    responseUrl: slack.responseUrlFor({ channel, messageTs: ts, user: userId }),
    triggerId: slack.issueTrigger(userId),
  });

  /**
   * Clicks a button that opens a modal, then fills the modal in and submits it. When no modal
   * opens (Slack refuses a trigger older than 3 s: a slow app misses it), the person clicks again,
   * a few times. Resolves with the last click's status and whether the modal was submitted.
   */
  const clickThenFill = async (
    click: () => Promise<{ status: number }>,
    userId: string,
    login: string,
    callbackId: string,
    fill: (view: ViewPayload) => Record<string, Record<string, string>> | undefined,
  ): Promise<{ status: number; ok: boolean }> => {
    let status = 0;
    for (let attempt = 1; attempt <= MAX_MODAL_ATTEMPTS && !stopped; attempt++) {
      ({ status } = await click());
      if (status !== 200) return { status, ok: false };
      const opened = await fillModal(userId, login, callbackId, fill, attempt === MAX_MODAL_ATTEMPTS);
      if (opened !== 'no_modal') return { status, ok: opened === 'submitted' };
    }
    return { status, ok: false };
  };

  /** Waits for the modal a click opened, fills it in and submits it. */
  const fillModal = async (
    userId: string,
    login: string,
    callbackId: string,
    fill: (view: ViewPayload) => Record<string, Record<string, string>> | undefined,
    lastAttempt: boolean,
  ): Promise<'submitted' | 'refused' | 'no_modal'> => {
    const deadline = Date.now() + MODAL_WAIT_MS;
    let view = slack.openModalOf(userId);
    while ((!view || view.callback_id !== callbackId) && Date.now() < deadline && !stopped) {
      await pause(20);
      view = slack.openModalOf(userId);
    }
    if (!view || view.callback_id !== callbackId) {
      if (lastAttempt)
        options.onError(`${login} clicked ${MAX_MODAL_ATTEMPTS} times, but no ${callbackId} modal opened`);
      return 'no_modal';
    }
    const values = fill(view);
    if (!values) {
      options.onError(`${login}'s ${callbackId} modal has no input to fill in`);
      return 'refused';
    }
    await pause(options.thinkMs);
    const submitted = await slack.submitView({ ...target, userId, values });
    if (submitted.status !== 200 || submitted.answer?.action === 'errors') {
      options.onError(
        `${login}'s ${callbackId} was answered ${submitted.status}${
          submitted.answer?.action === 'errors'
            ? `: ${Object.values(submitted.answer.errors).join('; ')}`
            : ''
        }`,
      );
      return 'refused';
    }
    return 'submitted';
  };

  const review = async (
    channel: string,
    ts: string,
    userId: string,
    login: string,
    name: string,
    ownTask: boolean,
  ) => {
    const configured: ReviewerBehaviour = scenario.reviewers[login] ?? DEFAULT_BEHAVIOUR;
    if (!configured.respond) return;
    const behaviour: ReviewerBehaviour = ownTask
      ? configured
      : { ...configured, keepAllRemaining: false, delegate: configured.delegate.filter((rule) => !rule.all) };
    const key = `${channel}/${ts}`;
    if (behaviour.respondAfterReminder !== undefined) {
      const seen = remindersSeen.get(key) ?? 0;
      // Woken again by the reminder's arrival (see the thread branch below).
      if (seen < behaviour.respondAfterReminder) return;
    }
    const first = slack.message(channel, ts);
    if (!first) return;
    const handed = new Set<string>();
    let staleRetries = 0;
    let bulkClicks = 0;
    const wholeTask = behaviour.delegate.find((rule) => rule.all);
    while (!stopped) {
      const message = slack.message(channel, ts);
      if (!message) return;
      const open = openGrants(message);
      if (
        open.length === 0 &&
        (!behaviour.keepAllRemaining ||
          bulkClicks >= MAX_BULK_CLICKS ||
          !taskButton(message, 'review_keep_all:'))
      )
        return;

      if (wholeTask) {
        const button = taskButton(message, 'review_delegate_all:');
        if (!button) return;
        const to = slackIdOfLogin.get(wholeTask.to);
        if (!to) {
          options.onError(`${login} would hand their review to ${wholeTask.to}, who is not in Slack`);
          return;
        }
        await pause(options.thinkMs);
        const { status, ok } = await clickThenFill(
          () =>
            clickButton({
              ...interactionBase(channel, ts, userId, name, message),
              actionId: button.actionId,
              value: button.value,
            }),
          userId,
          login,
          'review_delegation',
          (view) => delegationValues(view, to, wholeTask.note),
        );
        clicks.push(click(login, userId, { kind: 'delegate_all', delegatedTo: wholeTask.to }, status));
        if (ok) report(`${login} handed their whole review over to ${wholeTask.to}`);
        return;
      }

      // The grants the rules single out, one by one; the plain keeps are left for the bulk button.
      const bulkOpen = behaviour.keepAllRemaining && bulkClicks < MAX_BULK_CLICKS;
      let next: { controls: GrantControls; grant: Grant; plan: GrantPlan } | undefined;
      const plainKeeps: Array<{ controls: GrantControls; grant: Grant }> = [];
      for (const controls of open) {
        if (handed.has(controls.grantId)) continue;
        const grant = await grantOf(controls.campaignId, controls.grantId);
        if (!grant) {
          options.onError(`${login} was shown a grant the campaign does not have (${controls.grantId})`);
          handed.add(controls.grantId);
          continue;
        }
        const plan = planFor(behaviour, grant, controls, bulkOpen);
        if (plan.kind === 'bulk_keep') {
          plainKeeps.push({ controls, grant });
          continue;
        }
        next = { controls, grant, plan };
        break;
      }

      if (!next) {
        const bulk = bulkOpen ? taskButton(message, 'review_keep_all:') : undefined;
        // "Keep all remaining (N)" keeps every undecided grant of the task that needs no reason,
        // those on pages not shown yet too. A person who still means to revoke or lower something
        // they have not seen yet keeps this page's grants one by one (the next page follows), and
        // clicks it only once it would keep no more than the page shows.
        const sweeps = bulk ? bulkCountOf(bulk.text) : undefined;
        if (bulk && (sweeps === undefined || sweeps <= plainKeeps.length)) {
          // The button asks for confirmation; the person confirms (Slack sends the click only then).
          await pause(options.thinkMs);
          const response = await clickButton({
            ...interactionBase(channel, ts, userId, name, message),
            actionId: bulk.actionId,
            value: bulk.value,
          });
          bulkClicks += 1;
          clicks.push(click(login, userId, { kind: 'keep_all' }, response.status));
          report(`${login} clicked “${bulk.text}” and confirmed`);
          if (response.status !== 200)
            options.onError(`${login}'s Keep all remaining was answered ${response.status}`);
          // On a slow app the click keeps what it can in Slack's time and says to click again;
          // the redrawn message then still offers the button, and the loop clicks it again.
          await waitForRedraw(channel, ts, message);
          continue;
        }
        const plain = plainKeeps[0];
        if (plain) {
          staleRetries = 0;
          handed.add(plain.controls.grantId);
          await pause(options.thinkMs);
          await act(channel, ts, userId, login, name, message, behaviour, {
            ...plain,
            plan: { kind: 'keep' },
          });
          continue;
        }
        // Every grant shown was acted on, yet the message still offers controls: its redraw was
        // lost. A person tries one of them again (the app answers "Already recorded" and redraws);
        // a few tries, then they give up.
        const retry = open[0];
        if (!retry || staleRetries >= MAX_STALE_RETRIES) return;
        staleRetries += 1;
        handed.delete(retry.grantId);
        continue;
      }
      staleRetries = 0;
      handed.add(next.controls.grantId);
      await pause(options.thinkMs);
      await act(channel, ts, userId, login, name, message, behaviour, next);
    }
  };

  const act = async (
    channel: string,
    ts: string,
    userId: string,
    login: string,
    name: string,
    message: RecordedMessage,
    behaviour: ReviewerBehaviour,
    { controls, grant, plan }: { controls: GrantControls; grant: Grant; plan: GrantPlan },
  ) => {
    const base = () => interactionBase(channel, ts, userId, name, message);
    const { grantId, value } = controls;
    const what = `${grant.principal} ${grant.entitlement} on ${grant.resource}`;
    switch (plan.kind) {
      case 'delegate': {
        const to = slackIdOfLogin.get(plan.to);
        if (!to) {
          options.onError(`${login} would hand ${grantId} to ${plan.to}, who is not in Slack`);
          return;
        }
        const { status, ok } = await clickThenFill(
          () => clickButton({ ...base(), actionId: `review_delegate:${grantId}`, value }),
          userId,
          login,
          'review_delegation',
          (view) => delegationValues(view, to, plan.note),
        );
        clicks.push(click(login, userId, { kind: 'delegate', grantId, delegatedTo: plan.to }, status));
        if (ok) report(`${login} handed ${what} over to ${plan.to}`);
        return;
      }
      case 'downgrade': {
        const option = downgradeOption(message, grantId, plan.to);
        if (!option) {
          options.onError(`${login}'s message offers no "Downgrade to ${plan.to}" for ${grantId}`);
          return;
        }
        const response = await chooseSelectOption({
          ...base(),
          actionId: `review_downgrade:${grantId}`,
          optionValue: option,
        });
        clicks.push(
          click(login, userId, { kind: 'downgrade', grantId, downgradeTo: plan.to }, response.status),
        );
        report(`${login} downgraded ${what} to ${plan.to}`);
        if (response.status !== 200) options.onError(`${login}'s downgrade was answered ${response.status}`);
        return;
      }
      case 'justified_keep': {
        const { status, ok } = await clickThenFill(
          () => clickButton({ ...base(), actionId: `review_justify:${grantId}`, value }),
          userId,
          login,
          'review_justification',
          (view) => {
            const input = inputOf(view, 'plain_text_input');
            return input ? { [input.blockId]: { [input.actionId]: plan.text } } : undefined;
          },
        );
        clicks.push(
          click(
            login,
            userId,
            { kind: 'justified_keep', grantId, decision: 'keep', justification: plan.text },
            status,
          ),
        );
        if (ok) report(`${login} kept ${what} with the reason “${plan.text}”`);
        return;
      }
      case 'keep':
      case 'revoke': {
        const decision = plan.kind;
        const option = plan.reason ? reasonOption(message, grantId, plan.reason) : undefined;
        if (plan.reason && !option) {
          options.onError(`${login}'s message shows no "${REASONS[plan.reason]}" for ${grantId}`);
          return;
        }
        if (!option && !controls[decision]) {
          options.onError(`${login}'s message shows no ${decision} button for ${grantId}`);
          return;
        }
        const send = () =>
          option
            ? chooseOverflowOption({ ...base(), actionId: option.actionId, optionValue: option.value })
            : clickButton({ ...base(), actionId: `review_${decision}:${grantId}`, value });
        const responses = await Promise.all(behaviour.doubleClick ? [send(), send()] : [send()]);
        for (const response of responses) {
          clicks.push(
            click(
              login,
              userId,
              {
                kind: option ? 'reason' : decision,
                grantId,
                decision,
                ...(plan.reason ? { reason: plan.reason } : {}),
              },
              response.status,
            ),
          );
          if (response.status !== 200)
            options.onError(`${login}'s ${option ? 'menu choice' : 'click'} was answered ${response.status}`);
        }
        return;
      }
      case 'bulk_keep':
        return;
    }
  };

  const work = async (channel: string, ts: string) => {
    const key = `${channel}/${ts}`;
    if (busy.has(key)) return;
    busy.add(key);
    try {
      const userId = userOfChannel.get(channel);
      const person = userId ? loginOfSlackUser.get(userId) : undefined;
      if (!userId || !person) return;
      const posted = slack.message(channel, ts);
      if (!posted) return;
      if (approvalButton(posted, APPROVE_ACTION_ID)) {
        await answerApproval(channel, ts, userId, person.login, person.name);
        return;
      }
      if (posted.threadTs !== undefined) {
        // A reply in a message's thread: a reminder, or a note that more grants were handed over
        // (the message above was redrawn). Either way the person looks at the message again,
        // unless they wait for a reminder that has not come yet.
        const parent = `${channel}/${posted.threadTs}`;
        const seen = (remindersSeen.get(parent) ?? 0) + (isReminder(posted) ? 1 : 0);
        remindersSeen.set(parent, seen);
        const waitsFor = scenario.reviewers[person.login]?.respondAfterReminder;
        if (waitsFor !== undefined && seen < waitsFor) return;
        if (waitsFor !== undefined && seen === waitsFor && isReminder(posted)) {
          report(`${person.login} acted on reminder ${seen}`);
        }
        track(work(channel, posted.threadTs));
        return;
      }
      if (!isReviewMessage(posted)) return;
      const campaign = openGrants(posted)[0]?.campaignId ?? '';
      const typedKey = `${person.login}/${campaign}`;
      if (!ownTaskMessage.has(typedKey)) ownTaskMessage.set(typedKey, ts);
      if (!commandsTyped.has(typedKey)) {
        commandsTyped.add(typedKey);
        for (const command of commandsOf(person.login, 'review_received')) {
          track(
            (async () => {
              await pause(command.delaySeconds * 1000);
              if (!stopped) await typeCommand(person.login, command.text);
            })().catch((error: unknown) =>
              options.onError(
                `${person.login}'s command failed: ${error instanceof Error ? error.message : String(error)}`,
              ),
            ),
          );
        }
      }
      await review(channel, ts, userId, person.login, person.name, ownTaskMessage.get(typedKey) === ts);
    } catch (error) {
      options.onError(`simulated reviewer failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      busy.delete(key);
    }
  };

  const unsubscribe = slack.onMessage((event) => {
    if (stopped || event.kind !== 'posted') return;
    track(work(event.message.channel, event.message.ts));
  });

  return {
    clicks: () => [...clicks],
    approvalClicks: () => [...approvalClicks],
    commands: () => commandRuns.map((run) => ({ ...run, answers: [...run.answers] })),
    async afterCampaign() {
      const runs: CommandRun[] = [];
      for (const login of Object.keys(scenario.securityTeam)) {
        for (const command of commandsOf(login, 'after_campaign')) {
          if (stopped) return runs;
          await pause(command.delaySeconds * 1000);
          const run = await typeCommand(login, command.text);
          if (run) runs.push(run);
        }
      }
      return runs;
    },
    async idle() {
      while (working.size > 0) await Promise.all([...working]);
    },
    stop() {
      stopped = true;
      unsubscribe();
    },
  };
}

function click(
  reviewer: string,
  slackUserId: string,
  what: Omit<Click, 'reviewer' | 'slackUserId' | 'status' | 'at'>,
  status: number,
): Click {
  return { reviewer, slackUserId, ...what, status, at: new Date().toISOString() };
}

/** The hand-over modal: the person picked in its users select, and the note if there is one. */
function delegationValues(
  view: ViewPayload,
  to: string,
  note: string | undefined,
): Record<string, Record<string, string>> | undefined {
  const who = inputOf(view, 'users_select');
  if (!who) return undefined;
  const values: Record<string, Record<string, string>> = { [who.blockId]: { [who.actionId]: to } };
  const text = inputOf(view, 'plain_text_input');
  if (note && text) values[text.blockId] = { [text.actionId]: note };
  return values;
}
