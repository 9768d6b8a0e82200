import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { MalformedRequestError } from '../core/errors';
import type { Services } from '../runtime/services';
import { type ApprovalDecisionOutcome, decideRevocationApproval } from '../steps/decide-revocation-approval';
import { redrawApprovalMessages } from '../steps/request-revocation-approval';
import {
  APPROVAL_ACTION_PREFIX,
  APPROVE_ACTION_ID,
  parseApprovalButtonValue,
  REJECT_ACTION_ID,
} from './approval-blocks';
import { ephemeralReply } from './ephemeral';

/** Action ids of the security team's approval buttons start so; the catch-all listener leaves them alone. */
export { APPROVAL_ACTION_PREFIX };

const APPROVAL_BUTTON = new RegExp(`^(${APPROVE_ACTION_ID}|${REJECT_ACTION_ID})$`);

/**
 * The security team's Approve / Reject buttons for a batch of revocations held by the guard. Bolt
 * has already checked Slack's signature and timestamp. Who may decide comes from the table (the
 * approvers the request was sent to), the clicker from the signed body; a refusal is an ephemeral
 * reply and writes nothing. The first decision wins; the message is redrawn after the ack.
 */
export function registerApprovalListeners(app: App, services: Services): void {
  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: APPROVAL_BUTTON },
    async ({ ack, body, action, respond }) => {
      const tell = ephemeralReply(respond, services.log);
      let campaignId: string;
      try {
        if ((action as { type: string }).type !== 'button') {
          throw new MalformedRequestError('an approval action that is not a button');
        }
        campaignId = parseApprovalButtonValue(action.value ?? '').campaignId;
      } catch (error) {
        await ack();
        services.log.warn('malformed approval action refused', {
          error: error instanceof Error ? error.message : String(error),
        });
        await tell('This button could not be read, so nothing was recorded.');
        return;
      }
      let outcome: ApprovalDecisionOutcome;
      try {
        outcome = await decideRevocationApproval(
          {
            campaignId,
            decision: action.action_id === APPROVE_ACTION_ID ? 'approved' : 'rejected',
            slackUserId: body.user.id,
          },
          services,
        );
      } catch (error) {
        await ack();
        services.log.error('recording an approval decision failed', {
          campaignId,
          error: error instanceof Error ? error.message : String(error),
        });
        await tell('Something went wrong while recording this decision. Please click again in a moment.');
        return;
      }
      await ack();
      if (outcome.kind === 'refused') {
        await tell(`Nothing was recorded: ${outcome.reason}`);
      } else if (outcome.kind === 'already') {
        const { approval } = outcome;
        await tell(
          approval.status === 'expired'
            ? `Nothing was recorded: the request closed without an answer (${approval.expiredReason ?? 'window closed'}).`
            : `Already ${approval.status} by ${approval.decidedBy?.login ?? 'someone'} at ${approval.decidedAt}. A decision is recorded once.`,
        );
      } else {
        await redrawApprovalMessages(services, outcome.approval);
      }
    },
  );
}
