import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { MalformedRequestError } from '../core/errors';
import type { Services } from '../runtime/services';
import { recordDecision } from '../steps/record-decision';
import { parseActionId, parseButtonValue } from './blocks';

const REVIEW_BUTTON = /^review_(keep|revoke):/;

/**
 * The review buttons. Bolt has already checked Slack's signature and timestamp (a forged or stale
 * request never reaches this listener). Everything a button carries is re-checked against the
 * table: the ids must agree, the clicker must be the assigned reviewer, and the decision is
 * written once. Every refusal is an ephemeral message to the clicker and writes nothing.
 */
export function registerReviewListeners(app: App, services: Services): void {
  app.action<BlockAction<ButtonAction>>(
    { type: 'block_actions', action_id: REVIEW_BUTTON },
    async ({ ack, body, action, respond }) => {
      // Through the interaction's response_url: it reaches the clicker even where they are not a
      // member of the channel (a replayed or shared button), and only they see it.
      const tell = async (text: string) => {
        try {
          await respond({ response_type: 'ephemeral', replace_original: false, text });
        } catch (error) {
          services.log.warn('could not send an ephemeral reply', {
            error: error instanceof Error ? error.message : String(error),
          });
        }
      };
      let request: { campaignId: string; grantId: string; decision: 'keep' | 'revoke' };
      try {
        const fromValue = parseButtonValue(action.value ?? '');
        const fromId = parseActionId(action.action_id);
        if (fromValue.grantId !== fromId.grantId) {
          throw new MalformedRequestError('the button value and action id name different grants');
        }
        request = { campaignId: fromValue.campaignId, grantId: fromValue.grantId, decision: fromId.decision };
      } catch (error) {
        await ack();
        services.log.warn('malformed review action refused', {
          error: error instanceof Error ? error.message : String(error),
        });
        await tell(
          'This button could not be read, so nothing was recorded. Please use the buttons in your review message.',
        );
        return;
      }
      let outcome: Awaited<ReturnType<typeof recordDecision>>;
      try {
        outcome = await recordDecision({ ...request, slackUserId: body.user.id }, services);
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
      } else if (outcome.kind === 'duplicate') {
        await tell(
          `Already recorded: ${outcome.decision.decision} at ${outcome.decision.decidedAt}. A decision is recorded once and cannot be changed here.`,
        );
      }
    },
  );
}
