import type { App, BlockAction, ButtonAction, OverflowAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { MalformedRequestError } from '../core/errors';
import type { Services } from '../runtime/services';
import { type DecisionOutcome, type DecisionRequest, recordDecision } from '../steps/record-decision';
import { APPROVAL_ACTION_PREFIX, registerApprovalListeners } from './approval-listeners';
import { parseActionId, parseButtonValue, parseReasonActionId, parseReasonValue, REASONS } from './blocks';
import { followUpDeadline } from './click-budget';
import { redrawAfterClick } from './redraw';
import {
  REVIEW_BUTTON_ACTION as REVIEW_BUTTON,
  REVIEW_REASON_ACTION as REVIEW_REASON,
} from './request-check';
import { postToResponseUrl } from './response-url';

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
        };
      });
    },
  );
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
  const followUps: Promise<unknown>[] = [
    redrawAfterClick(services, {
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
