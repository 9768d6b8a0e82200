import type { Services } from '../../functions/runtime/services';
import { checkRevocations } from '../../functions/steps/check-revocations';
import { decideRevocationApproval } from '../../functions/steps/decide-revocation-approval';
import type { Store } from '../../functions/store/index';

/**
 * Takes a campaign through the revocation guard as the workflow does before ApplyRevocations:
 * CheckRevocations, and, when it holds anything, the security team's answer (approved by default;
 * `rejected` as a rejection). Tests of what ApplyRevocations does with a revocation use it so the
 * guard's verdict is there, as it always is in the workflow.
 */
export async function passGuard(
  store: Store,
  services: Services,
  campaignId: string,
  answer: 'approved' | 'rejected' = 'approved',
): Promise<void> {
  const checked = await checkRevocations({ campaignId }, services);
  if (checked.held === 0) return;
  const now = new Date();
  const approver = { login: 'erin', slackUserId: 'U0ERIN001' };
  await store.approvals.open(
    {
      campaignId,
      approvers: [approver],
      heldCount: checked.held,
      requestedAt: now.toISOString(),
      dueAt: new Date(now.getTime() + 3_600_000).toISOString(),
    },
    'test-approval-token',
  );
  // As the Slack listener records it: the answer, its event in the chain, the workflow resumed.
  const outcome = await decideRevocationApproval(
    { campaignId, decision: answer, slackUserId: approver.slackUserId },
    { ...services, tasks: { succeed: async () => undefined } },
  );
  if (outcome.kind !== 'decided') throw new Error(`the test approval was not recorded: ${outcome.kind}`);
}
