import type {
  App,
  BlockAction,
  ButtonAction,
  OverflowAction,
  SlackActionMiddlewareArgs,
  StaticSelectAction,
} from '@slack/bolt';
import type { View } from '@slack/types';
import { MalformedRequestError } from '../core/errors';
import { justificationReasons } from '../core/justification';
import type { Services } from '../runtime/services';
import { type BulkKeepOutcome, type BulkKeepRequest, bulkKeep } from '../steps/bulk-keep';
import { handoverMessage, redrawHandover } from '../steps/handover-message';
import { holdsAccess, reassignGrants } from '../steps/reassign-grants';
import {
  checkDecider,
  closedReason,
  type DecisionOutcome,
  type DecisionRequest,
  recordDecision,
} from '../steps/record-decision';
import type { ReviewTask } from '../store/tasks';
import { registerHomeListener } from './app-home';
import { APPROVAL_ACTION_PREFIX, registerApprovalListeners } from './approval-listeners';
import {
  parseActionId,
  parseButtonValue,
  parseCampaignActionId,
  parseCampaignValue,
  parseDowngradeValue,
  parseGrantActionId,
  parseReasonActionId,
  parseReasonValue,
  REASONS,
} from './blocks';
import { followUpDeadline } from './click-budget';
import { registerCommandListener } from './command';
import {
  DELEGATE_NOTE_ACTION,
  DELEGATE_NOTE_BLOCK,
  DELEGATE_TO_ACTION,
  DELEGATE_TO_BLOCK,
  DELEGATION_CALLBACK_ID,
  DELEGATION_NOTE_MAX_LENGTH,
  delegationModal,
  JUSTIFICATION_CALLBACK_ID,
  justificationModal,
  loadingModal,
  type ModalSubject,
  noticeModal,
  parsePrivateMetadata,
  REASON_ACTION,
  REASON_BLOCK,
  submittedValue,
} from './modals';
import { countBulk, drawTaskFromTable, redrawAfterClick, updateTaskMessage } from './redraw';
import { postToResponseUrl } from './response-url';

/** Keep and Revoke buttons: `review_keep:` / `review_revoke:` (the exact shape is read by the listener). */
const REVIEW_BUTTON = /^review_(keep|revoke):/;
const REVIEW_REASON = /^review_reason:/;
const REVIEW_DOWNGRADE = /^review_downgrade:/;

/**
 * Every action id no listener here handles. Bolt runs every listener whose constraint matches, so
 * the catch-all must not match review or approval actions (they would be acknowledged twice).
 */
const UNHANDLED_ACTION = new RegExp(
  `^(?!review_|${APPROVAL_ACTION_PREFIX.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})`,
);

/**
 * Everything the Slack endpoint listens to, the same on both hosts: the review buttons and menu,
 * the security team's approval buttons, and an immediate ack for any other action (without it
 * Bolt answers 404, and Slack shows the clicker an error). The request checks in front of Bolt
 * already ack unknown actions; this keeps Bolt alone correct too.
 */
export function registerSlackListeners(app: App, services: Services): void {
  registerReviewListeners(app, services);
  registerApprovalListeners(app, services);
  registerCommandListener(app, services);
  registerHomeListener(app, services);
  app.action({ type: 'block_actions', action_id: UNHANDLED_ACTION }, async ({ ack }) => {
    await ack();
  });
}

/** What a review action asks for, read from the action alone; the clicker comes from the body. */
type ReadRequest = Omit<DecisionRequest, 'slackUserId'>;

/**
 * The review buttons and the "…" reason menu. Bolt has already checked Slack's signature and
 * timestamp (a forged or stale request never reaches these listeners). Everything an action
 * carries is re-checked against the table: the ids must agree, the clicker must be the assigned
 * reviewer, and the decision is written once. Every refusal is an ephemeral message to the
 * clicker and writes nothing.
 */
export function registerReviewListeners(app: App, services: Services): void {
  app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: REVIEW_BUTTON }, async (args) => {
    await handleReviewAction(args, services, 'button', () => {
      const { action } = args;
      // Bolt routes by action_id alone: any element could carry this one.
      if ((action as { type: string }).type !== 'button') {
        throw new MalformedRequestError('a review button action that is not a button');
      }
      const fromValue = parseButtonValue(action.value ?? '');
      const fromId = parseActionId(action.action_id);
      if (fromValue.grantId !== fromId.grantId) {
        throw new MalformedRequestError('the button value and action id name different grants');
      }
      return { campaignId: fromValue.campaignId, grantId: fromValue.grantId, decision: fromId.decision };
    });
  });

  app.action<BlockAction<OverflowAction>>(
    { type: 'block_actions', action_id: REVIEW_REASON },
    async (args) => {
      await handleReviewAction(args, services, 'menu choice', () => {
        const { action } = args;
        if (
          (action as { type: string }).type !== 'overflow' ||
          typeof action.selected_option?.value !== 'string'
        ) {
          throw new MalformedRequestError('a review reason action without a chosen option');
        }
        const fromValue = parseReasonValue(action.selected_option.value);
        const fromId = parseReasonActionId(action.action_id);
        if (fromValue.grantId !== fromId.grantId) {
          throw new MalformedRequestError('the option value and action id name different grants');
        }
        return {
          campaignId: fromValue.campaignId,
          grantId: fromValue.grantId,
          decision: fromValue.decision,
          // The text comes from our own table of reasons, never from the request.
          justification: REASONS[fromValue.reason],
          justificationSource: 'reason',
        };
      });
    },
  );

  app.action<BlockAction<StaticSelectAction>>(
    { type: 'block_actions', action_id: REVIEW_DOWNGRADE },
    async (args) => {
      await handleReviewAction(args, services, 'menu choice', () => {
        const { action } = args;
        if (
          (action as { type: string }).type !== 'static_select' ||
          typeof action.selected_option?.value !== 'string'
        ) {
          throw new MalformedRequestError('a review downgrade action without a chosen option');
        }
        const fromValue = parseDowngradeValue(action.selected_option.value);
        const fromId = parseGrantActionId(action.action_id, 'downgrade');
        if (fromValue.grantId !== fromId.grantId) {
          throw new MalformedRequestError('the option value and action id name different grants');
        }
        return {
          campaignId: fromValue.campaignId,
          grantId: fromValue.grantId,
          decision: 'downgrade',
          downgradeTo: fromValue.to,
        };
      });
    },
  );

  registerJustificationListeners(app, services);
  registerDelegationListeners(app, services);
  registerBulkKeepListener(app, services);
}

/** An ephemeral reply to the clicker through the click's response_url; a failure is logged, never thrown. */
function replier(services: Services, responseUrl: string, deadline: number): (text: string) => Promise<void> {
  return async (text) => {
    try {
      await postToResponseUrl(
        responseUrl,
        { response_type: 'ephemeral', replace_original: false, text },
        deadline,
      );
    } catch (error) {
      services.log.warn('could not send an ephemeral reply', { error: describeError(error) });
    }
  };
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The clicker of a signed request; undefined when the payload has none (refused). */
function clickerOf(body: unknown): string | undefined {
  const id: unknown = (body as { user?: { id?: unknown } }).user?.id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** A button of ours: its type, its value's campaign and grant, the action id's grant, all in agreement. */
function readGrantButton(
  action: unknown,
  kind: 'justify' | 'delegate',
): { campaignId: string; grantId: string } {
  const button = action as { type?: unknown; value?: unknown; action_id?: unknown };
  if (button.type !== 'button' || typeof button.action_id !== 'string') {
    throw new MalformedRequestError(`a review ${kind} action that is not a button`);
  }
  const fromValue = parseButtonValue(typeof button.value === 'string' ? button.value : '');
  const fromId = parseGrantActionId(button.action_id, kind);
  if (fromValue.grantId !== fromId.grantId) {
    throw new MalformedRequestError('the button value and action id name different grants');
  }
  return fromValue;
}

function readCampaignButton(action: unknown, kind: 'keep_all' | 'delegate_all'): { campaignId: string } {
  const button = action as { type?: unknown; value?: unknown; action_id?: unknown };
  if (button.type !== 'button' || typeof button.action_id !== 'string') {
    throw new MalformedRequestError(`a review ${kind.replace('_', ' ')} action that is not a button`);
  }
  const fromValue = parseCampaignValue(typeof button.value === 'string' ? button.value : '');
  const fromId = parseCampaignActionId(button.action_id, kind);
  if (fromValue.campaignId !== fromId.campaignId) {
    throw new MalformedRequestError('the button value and action id name different campaigns');
  }
  return fromValue;
}

const UNREADABLE =
  'This click could not be read, so nothing was recorded. Please use the buttons in your review message.';

/**
 * "Keep…" opens the justification modal (only for the grant's decider, while the review is open,
 * and only for a grant that needs a reason); its submission records the Keep with the typed reason,
 * checked like a click. Errors are shown in the modal next to the field.
 */
function registerJustificationListeners(app: App, services: Services): void {
  app.action({ type: 'block_actions', action_id: /^review_justify:/ }, async ({ ack, body, action }) => {
    await ack();
    const deadline = followUpDeadline();
    const payload = body as BlockAction;
    const tell = replier(services, payload.response_url, deadline);
    const slackUserId = clickerOf(body);
    let subject: { campaignId: string; grantId: string };
    try {
      subject = readGrantButton(action, 'justify');
    } catch (error) {
      services.log.warn('malformed review action refused', { error: describeError(error) });
      await tell(UNREADABLE);
      return;
    }
    if (!slackUserId) return;
    await openFormFirst(
      services,
      payload,
      tell,
      { title: 'Keep with a reason', button: 'Keep…' },
      async () => {
        const checked = await checkDecider(services, subject.campaignId, subject.grantId, slackUserId);
        if (!checked.ok) return { refused: `Nothing was recorded: ${checked.reason}` };
        if (checked.task.status !== 'awaiting') {
          return { refused: `Nothing was recorded: ${closedReason(checked.task).reason}` };
        }
        const existing = await services.store.decisions.get(subject.campaignId, subject.grantId);
        if (existing) {
          return {
            refused: `Already recorded: ${existing.decision} at ${existing.decidedAt}. A decision is recorded once.`,
          };
        }
        const classes = justificationReasons(checked.grant, services.config.review.justificationRequiredFor);
        return { view: justificationModal(subject.campaignId, checked.grant, classes) };
      },
    );
  });

  app.view(
    { type: 'view_submission', callback_id: JUSTIFICATION_CALLBACK_ID },
    async ({ ack, body, view }) => {
      const slackUserId = clickerOf(body);
      let subject: ModalSubject;
      try {
        subject = parsePrivateMetadata(view.private_metadata, true);
      } catch (error) {
        services.log.warn('malformed justification submission refused', { error: describeError(error) });
        await ack({
          response_action: 'errors',
          errors: { [REASON_BLOCK]: 'This form could not be read; nothing was recorded.' },
        });
        return;
      }
      if (!slackUserId) {
        await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: 'Nothing was recorded.' } });
        return;
      }
      const text = submittedValue(view, REASON_BLOCK, REASON_ACTION, 'value') ?? '';
      let outcome: DecisionOutcome;
      try {
        outcome = await recordDecision(
          {
            campaignId: subject.campaignId,
            grantId: subject.grantId as string,
            decision: 'keep',
            slackUserId,
            justification: text,
            justificationSource: 'typed',
          },
          services,
        );
      } catch (error) {
        services.log.error('recording a justified decision failed', {
          campaignId: subject.campaignId,
          grantId: subject.grantId,
          error: describeError(error),
        });
        await ack({
          response_action: 'errors',
          errors: {
            [REASON_BLOCK]: 'Something went wrong while recording this decision. Please submit again.',
          },
        });
        return;
      }
      if (outcome.kind === 'refused') {
        await ack({
          response_action: 'errors',
          errors: { [REASON_BLOCK]: `Nothing was recorded: ${outcome.reason}` },
        });
        return;
      }
      await ack();
      await redrawAfterSubmission(services, outcome.task, outcome.decision.decidedBy);
    },
  );
}

/**
 * After a modal's decision or hand-over: the task's DM redrawn from the table, and when a delegate
 * decided, their hand-over DM too. Failures are logged (the decision is recorded either way).
 */
async function redrawAfterSubmission(
  services: Services,
  task: ReviewTask,
  delegate: string | undefined,
): Promise<void> {
  const redraws: Promise<unknown>[] = [];
  if (delegate) {
    redraws.push(
      redrawHandover(services, task.campaignId, delegate).catch((error: unknown) =>
        services.log.warn('could not redraw the hand-over message', { error: describeError(error) }),
      ),
    );
  } else {
    redraws.push(updateTaskMessage(services, task, undefined));
  }
  await Promise.all(redraws);
}

/** The form a click opens, or why it opens none (also told to the clicker like any refused click). */
type FormOutcome = { view: View } | { refused: string };

/**
 * Opens a placeholder modal at once, before any table read: Slack's trigger_id is good for 3 s
 * after the click, and on a loaded host the checks behind the form (the task, the grant, its
 * decision) took longer. The checks then run, and the placeholder becomes the form, or a notice
 * saying why there is none. A trigger already gone is said by response_url; nothing was read.
 */
async function openFormFirst(
  services: Services,
  payload: BlockAction,
  tell: (text: string) => Promise<void>,
  labels: { title: string; button: string },
  form: () => Promise<FormOutcome>,
): Promise<void> {
  let opened: { id: string; hash: string | undefined };
  try {
    const slack = await services.slack();
    const result = await slack.views.open({
      trigger_id: payload.trigger_id,
      view: loadingModal(labels.title),
    });
    if (!result.view?.id) throw new MalformedRequestError('views.open answered without the view');
    opened = { id: result.view.id, hash: result.view.hash };
  } catch (error) {
    services.log.warn('could not open the modal', { form: labels.title, error: describeError(error) });
    await tell(`The form could not be opened (Slack allows 3 seconds). Please click ${labels.button} again.`);
    return;
  }
  let outcome: FormOutcome;
  try {
    outcome = await form();
  } catch (error) {
    services.log.error('checking a click for its form failed', {
      form: labels.title,
      error: describeError(error),
    });
    outcome = { refused: `Something went wrong; nothing was recorded. Please click ${labels.button} again.` };
  }
  try {
    const slack = await services.slack();
    await slack.views.update({
      view_id: opened.id,
      ...(opened.hash ? { hash: opened.hash } : {}),
      view: 'view' in outcome ? outcome.view : noticeModal(labels.title, outcome.refused),
    });
  } catch (error) {
    // Closed by the person meanwhile, or Slack refused: the reply below still says why, if there is one.
    services.log.warn('could not show the form', { form: labels.title, error: describeError(error) });
    if ('view' in outcome) await tell(`The form could not be shown. Please click ${labels.button} again.`);
  }
  if ('refused' in outcome) await tell(outcome.refused);
}

/** Most grants one "Hand over all…" moves: each is a conditional write and an event, inside Slack's 3 s. */
export const DELEGATE_ALL_MAX_GRANTS = 100;

/**
 * "Hand over…" and "Hand over all…" open the delegation modal for the grant's decider (the task's
 * reviewer for all); its submission maps the chosen Slack user to a configured person (users.info
 * → email → people), refuses the clicker and anyone who holds the access, and hands the grants
 * over with reassignGrants (a `grant_reassigned` event per grant, by 'delegation').
 */
function registerDelegationListeners(app: App, services: Services): void {
  app.action(
    { type: 'block_actions', action_id: /^review_delegate(_all)?:/ },
    async ({ ack, body, action }) => {
      await ack();
      const deadline = followUpDeadline();
      const payload = body as BlockAction;
      const tell = replier(services, payload.response_url, deadline);
      const slackUserId = clickerOf(body);
      const all = (action as { action_id?: string }).action_id?.startsWith('review_delegate_all:') === true;
      if (!slackUserId) return;
      let subject: ModalSubject;
      try {
        subject = all ? readCampaignButton(action, 'delegate_all') : readGrantButton(action, 'delegate');
      } catch (error) {
        services.log.warn('malformed review action refused', { error: describeError(error) });
        await tell(UNREADABLE);
        return;
      }
      const button = all ? 'Hand over all…' : 'Hand over…';
      await openFormFirst(services, payload, tell, { title: 'Hand over', button }, async () => {
        const { campaignId, grantId } = subject;
        if (grantId === undefined) {
          const task = await taskOfClicker(services, campaignId, slackUserId);
          if (!task) return { refused: 'Nothing was handed over: you have no review task in this campaign.' };
          if (task.status !== 'awaiting') {
            return { refused: `Nothing was handed over: ${closedReason(task).reason}` };
          }
          return {
            view: delegationModal(campaignId, { count: Math.max(0, task.grantCount - task.decidedCount) }),
          };
        }
        const checked = await checkDecider(services, campaignId, grantId, slackUserId);
        if (!checked.ok) return { refused: `Nothing was handed over: ${checked.reason}` };
        if (checked.task.status !== 'awaiting') {
          return { refused: `Nothing was handed over: ${closedReason(checked.task).reason}` };
        }
        return { view: delegationModal(campaignId, { grant: checked.grant }) };
      });
    },
  );

  app.view({ type: 'view_submission', callback_id: DELEGATION_CALLBACK_ID }, async ({ ack, body, view }) => {
    const refuse = (block: string, text: string) =>
      ack({ response_action: 'errors', errors: { [block]: text } });
    const slackUserId = clickerOf(body);
    let subject: ModalSubject;
    try {
      subject = parsePrivateMetadata(view.private_metadata, false);
    } catch (error) {
      services.log.warn('malformed delegation submission refused', { error: describeError(error) });
      await refuse(DELEGATE_TO_BLOCK, 'This form could not be read; nothing was handed over.');
      return;
    }
    const toSlackUserId = submittedValue(view, DELEGATE_TO_BLOCK, DELEGATE_TO_ACTION, 'selected_user');
    const note = submittedValue(view, DELEGATE_NOTE_BLOCK, DELEGATE_NOTE_ACTION, 'value')?.trim() || null;
    if (!slackUserId || !toSlackUserId) {
      await refuse(DELEGATE_TO_BLOCK, 'Choose the person to hand over to.');
      return;
    }
    if (note && note.length > DELEGATION_NOTE_MAX_LENGTH) {
      await refuse(
        DELEGATE_NOTE_BLOCK,
        `Please keep the note under ${DELEGATION_NOTE_MAX_LENGTH} characters.`,
      );
      return;
    }
    if (toSlackUserId === slackUserId) {
      await refuse(DELEGATE_TO_BLOCK, 'You cannot hand over to yourself.');
      return;
    }
    let plan: { from: string; grantIds: string[]; task: ReviewTask; more: boolean };
    let to: string;
    try {
      const person = await personOfSlackUser(services, toSlackUserId);
      if (!person) {
        await refuse(
          DELEGATE_TO_BLOCK,
          'This person is not in the access review configuration (people), so they cannot decide grants.',
        );
        return;
      }
      to = person;
      const planned = await planDelegation(services, subject, slackUserId, to, toSlackUserId);
      if (!planned.ok) {
        await refuse(DELEGATE_TO_BLOCK, planned.reason);
        return;
      }
      plan = planned;
    } catch (error) {
      services.log.error('checking a delegation failed', { error: describeError(error) });
      await refuse(DELEGATE_TO_BLOCK, 'Something went wrong; nothing was handed over. Please try again.');
      return;
    }
    await ack();
    try {
      const outcome = await reassignGrants(
        {
          campaignId: subject.campaignId,
          grantIds: plan.grantIds,
          from: plan.from,
          to,
          toSlackUserId,
          by: 'delegation',
          actorSlackUserId: slackUserId,
          note,
        },
        services,
      );
      services.log.info('grants handed over', {
        campaignId: subject.campaignId,
        moved: outcome.moved.length,
        skipped: outcome.skipped.length,
        more: plan.more,
      });
      await tellByDm(
        services,
        slackUserId,
        delegationSummary(to, outcome.moved.length, outcome.skipped, plan.more),
      );
    } catch (error) {
      services.log.error('handing grants over failed', {
        campaignId: subject.campaignId,
        error: describeError(error),
      });
      await tellByDm(
        services,
        slackUserId,
        'Handing over failed part way; what moved is shown in your review message. Please try again.',
      );
    }
    await updateTaskMessage(
      services,
      (await services.store.tasks.get(plan.task.campaignId, plan.task.reviewer)) ?? plan.task,
      undefined,
    );
  });
}

/** The grants a delegation submission hands over, after the same checks as its button. */
async function planDelegation(
  services: Services,
  subject: ModalSubject,
  slackUserId: string,
  to: string,
  toSlackUserId: string,
): Promise<
  | { ok: true; from: string; grantIds: string[]; task: ReviewTask; more: boolean }
  | { ok: false; reason: string }
> {
  if (subject.grantId) {
    const checked = await checkDecider(services, subject.campaignId, subject.grantId, slackUserId);
    if (!checked.ok) return { ok: false, reason: `Nothing was handed over: ${checked.reason}` };
    if (checked.task.status !== 'awaiting') return { ok: false, reason: closedReason(checked.task).reason };
    if (checked.decider.login.toLowerCase() === to.toLowerCase()) {
      return { ok: false, reason: 'You cannot hand over to yourself.' };
    }
    if (holdsAccess(checked.grant, to, toSlackUserId)) {
      return { ok: false, reason: `${to} holds this access, so cannot decide on it.` };
    }
    if (await services.store.decisions.get(subject.campaignId, subject.grantId)) {
      return { ok: false, reason: 'This grant has a decision already; nothing was handed over.' };
    }
    return {
      ok: true,
      from: checked.decider.login,
      grantIds: [subject.grantId],
      task: checked.task,
      more: false,
    };
  }
  const task = await taskOfClicker(services, subject.campaignId, slackUserId);
  if (!task) return { ok: false, reason: 'You have no review task in this campaign.' };
  if (task.status !== 'awaiting') return { ok: false, reason: closedReason(task).reason };
  if (task.reviewer.toLowerCase() === to.toLowerCase())
    return { ok: false, reason: 'You cannot hand over to yourself.' };
  const grantIds: string[] = [];
  let cursor: string | undefined;
  let more = false;
  for (;;) {
    const grants = await services.store.tasks.grantsAfter(task.campaignId, task.reviewer, cursor, 100);
    const decided = await services.store.decisions.getMany(
      task.campaignId,
      grants.map((grant) => grant.grantId),
    );
    for (const grant of grants) {
      if (decided.has(grant.grantId)) continue;
      if (grant.assignee && grant.assignee.toLowerCase() !== task.reviewer.toLowerCase()) continue;
      if (grantIds.length >= DELEGATE_ALL_MAX_GRANTS) {
        more = true;
        break;
      }
      grantIds.push(grant.grantId);
    }
    if (more || grants.length < 100) break;
    cursor = grants.at(-1)?.grantId;
  }
  if (grantIds.length === 0)
    return { ok: false, reason: 'Every grant of your review has a decision or was handed over already.' };
  return { ok: true, from: task.reviewer, grantIds, task, more };
}

function delegationSummary(
  to: string,
  moved: number,
  skipped: ReadonlyArray<{ reason: string }>,
  more: boolean,
): string {
  const parts = [
    `Handed over ${moved === 1 ? '1 grant' : `${moved} grants`} to ${to}; they decide from now on.`,
  ];
  const own = skipped.filter((skip) => skip.reason === 'own_access').length;
  const other = skipped.length - own;
  if (own > 0) parts.push(`${own} stayed with you: ${to} holds that access.`);
  if (other > 0) parts.push(`${other} stayed as they were: decided or handed over meanwhile.`);
  if (more)
    parts.push(`At most ${DELEGATE_ALL_MAX_GRANTS} move at once: click Hand over all… again for the rest.`);
  return parts.join(' ');
}

/** A note to the clicker in their DM with the app (a modal's submission has no response_url). */
async function tellByDm(services: Services, slackUserId: string, text: string): Promise<void> {
  try {
    const slack = await services.slack();
    await slack.chat.postMessage({ channel: slackUserId, text });
  } catch (error) {
    services.log.warn('could not tell the clicker', { error: describeError(error) });
  }
}

/**
 * The configured person (their GitHub login) a Slack user is: users.info's email matched against
 * people[].email, case-insensitively. Undefined when Slack shows no email or nobody has it.
 */
export async function personOfSlackUser(
  services: Services,
  slackUserId: string,
): Promise<string | undefined> {
  const slack = await services.slack();
  const info = await slack.users.info({ user: slackUserId });
  const email = info.user?.profile?.email?.toLowerCase();
  if (!email || info.user?.deleted === true || info.user?.is_bot === true) return undefined;
  return services.config.people.find((person) => person.email.toLowerCase() === email)?.github;
}

/** The clicker's own review task in the campaign (tasks are few: one per reviewer). */
async function taskOfClicker(
  services: Services,
  campaignId: string,
  slackUserId: string,
): Promise<ReviewTask | undefined> {
  const tasks = await services.store.tasks.list(campaignId);
  return tasks.find((task) => task.slackUserId === slackUserId);
}

/** Redraw time kept out of "Keep all remaining"'s budget. */
const BULK_REDRAW_RESERVE_MS = 700;

/**
 * "Keep all remaining" (after its confirmation): acknowledged first, then keeps what it can within
 * the click's budget (functions/steps/bulk-keep.ts), redraws the message once and tells the
 * clicker what was kept and what stays open.
 */
function registerBulkKeepListener(app: App, services: Services): void {
  app.action({ type: 'block_actions', action_id: /^review_keep_all:/ }, async ({ ack, body, action }) => {
    await ack();
    const deadline = followUpDeadline();
    const payload = body as BlockAction;
    const tell = replier(services, payload.response_url, deadline);
    const slackUserId = clickerOf(body);
    let campaignId: string;
    try {
      ({ campaignId } = readCampaignButton(action, 'keep_all'));
    } catch (error) {
      services.log.warn('malformed review action refused', { error: describeError(error) });
      await tell(UNREADABLE);
      return;
    }
    if (!slackUserId) return;
    const messageTs = (payload.container as { message_ts?: unknown } | undefined)?.message_ts;
    const task = await taskOfClicker(services, campaignId, slackUserId);
    let scope: BulkKeepRequest['scope'];
    if (task && (typeof messageTs !== 'string' || !task.messageTs || task.messageTs === messageTs)) {
      if (task.status !== 'awaiting') {
        await tell(`Nothing was recorded: ${closedReason(task).reason}`);
        return;
      }
      scope = { kind: 'task', task };
    } else {
      // Not the clicker's own review message: their hand-over message, grants handed to them.
      const login = await personOfSlackUser(services, slackUserId).catch(() => undefined);
      if (!login) {
        await tell('Nothing was recorded: you have no grants to decide in this campaign.');
        return;
      }
      scope = { kind: 'handedTo', login };
    }
    let outcome: BulkKeepOutcome;
    try {
      outcome = await bulkKeep(services, {
        campaignId,
        slackUserId,
        scope,
        deadline: deadline - BULK_REDRAW_RESERVE_MS,
      });
    } catch (error) {
      services.log.error('keep all remaining failed', { campaignId, error: describeError(error) });
      await tell('Something went wrong while keeping; what was kept is recorded. Please click again.');
      return;
    }
    services.log.info('keep all remaining', { campaignId, ...outcome, task: undefined });
    const redraw = (async () => {
      try {
        const message =
          scope.kind === 'task'
            ? await drawTaskFromTable(
                services,
                outcome.task ?? scope.task,
                outcome.complete
                  ? { keepable: 0, needReason: outcome.needReason }
                  : await countBulk(services, outcome.task ?? scope.task),
              )
            : await handoverMessage(services, campaignId, scope.login);
        await postToResponseUrl(
          payload.response_url,
          { replace_original: true, text: message.text, blocks: message.blocks },
          deadline,
        );
      } catch (error) {
        services.log.warn('the review message was not redrawn after keep all remaining', {
          error: describeError(error),
        });
      }
    })();
    await Promise.all([redraw, tell(bulkSummary(outcome))]);
  });
}

function bulkSummary(outcome: BulkKeepOutcome): string {
  const parts = [`Kept ${outcome.kept === 1 ? '1 grant' : `${outcome.kept} grants`}.`];
  if (outcome.needReason > 0) {
    parts.push(
      `${outcome.needReason === 1 ? '1 grant needs' : `${outcome.needReason} grants need`} a written reason and ${outcome.needReason === 1 ? 'stays' : 'stay'} open: use Keep… on ${outcome.needReason === 1 ? 'it' : 'each'}.`,
    );
  }
  if (outcome.alreadyDecided > 0 && outcome.kept === 0) parts.push('Everything else already had a decision.');
  if (!outcome.complete)
    parts.push('Time ran out before every grant was looked at: click Keep all remaining again to go on.');
  return parts.join(' ');
}

/**
 * The flow every review action shares: read the request (a malformed one is refused), record the
 * decision (and, on the last one, complete the task and resume the workflow), acknowledge, and
 * only then the follow-up: redraw the message and tell the clicker about a refusal or an earlier
 * decision. The follow-up never talks to the Web API (it posts to the click's response_url) and
 * ends by a deadline inside Slack's 3 seconds, so a slow or rate-limited Slack costs no decision
 * and no late acknowledgement.
 */
async function handleReviewAction(
  { ack, body }: Pick<SlackActionMiddlewareArgs<BlockAction>, 'ack' | 'body'>,
  services: Services,
  what: 'button' | 'menu choice',
  read: () => ReadRequest,
): Promise<void> {
  const deadline = followUpDeadline();
  const responseUrl = body.response_url;
  const tell = async (text: string) => {
    try {
      await postToResponseUrl(
        responseUrl,
        { response_type: 'ephemeral', replace_original: false, text },
        deadline,
      );
    } catch (error) {
      services.log.warn('could not send an ephemeral reply', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };
  let request: ReadRequest;
  try {
    request = read();
  } catch (error) {
    await ack();
    services.log.warn('malformed review action refused', {
      error: error instanceof Error ? error.message : String(error),
    });
    await tell(
      `This ${what} could not be read, so nothing was recorded. Please use the buttons or the … menu in your review message.`,
    );
    return;
  }
  // The request checks require user.id; a payload without it must still not reach the store.
  const slackUserId: unknown = (body as { user?: { id?: unknown } }).user?.id;
  if (typeof slackUserId !== 'string' || slackUserId === '') {
    await ack();
    services.log.warn('review action without a user refused');
    return;
  }
  let outcome: DecisionOutcome;
  try {
    outcome = await recordDecision({ ...request, slackUserId }, services);
  } catch (error) {
    await ack();
    services.log.error('recording a decision failed', {
      campaignId: request.campaignId,
      grantId: request.grantId,
      error: error instanceof Error ? error.message : String(error),
    });
    await tell('Something went wrong while recording this decision. Please click again in a moment.');
    return;
  }
  await ack();
  if (outcome.kind === 'refused') {
    await tell(`Nothing was recorded: ${outcome.reason}`);
    return;
  }
  // A click on a handover DM (decided by the assignee, not the task's reviewer) redraws that DM
  // from the table: the page in the click is the assignee's list, not the task's.
  const followUps: Promise<unknown>[] = [
    outcome.decision.decidedBy
      ? redrawAfterSubmission(services, outcome.task, outcome.decision.decidedBy)
      : redrawAfterClick(services, {
          task: outcome.task,
          decision: outcome.decision,
          blocks: body.message?.blocks,
          responseUrl,
          deadline,
        }),
  ];
  if (outcome.kind === 'duplicate') {
    const { decision } = outcome;
    const reason = decision.justification ? ` (${decision.justification})` : '';
    followUps.push(
      tell(
        `Already recorded: ${decision.decision}${reason} at ${decision.decidedAt}. A decision is recorded once and cannot be changed here.`,
      ),
    );
  }
  await Promise.all(followUps);
}
