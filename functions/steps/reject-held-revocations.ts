import type { Services } from '../runtime/services';
import { causeMessage } from './failure-cause';
import { redrawApprovalMessages } from './request-revocation-approval';

export interface RejectHeldRevocationsInput {
  campaignId: string;
  /** The Catch's error output: `{ Error, Cause }` (States.Timeout when the window closed). */
  error?: { Error?: string; Cause?: string };
}

/**
 * The approval window closed, or the request could not be sent, before anyone of the security team
 * decided: the held revocations are rejected (ApplyRevocations records each as such). A decision
 * that won the race against the window's end stands. The task token is dead by now.
 */
export async function rejectHeldRevocations(
  input: RejectHeldRevocationsInput,
  services: Services,
): Promise<{ campaignId: string; status: string }> {
  const { campaignId } = input;
  // What went wrong, for the reason people read (clipped: the full Cause is kept in the event).
  const failure = causeMessage(input.error?.Cause, 201) || undefined;
  const reason =
    input.error?.Error === 'States.Timeout'
      ? 'no answer within the approval window'
      : `the approval request failed (${input.error?.Error ?? 'unknown error'}${failure ? `: ${failure}` : ''})`;
  const { approval, expiredNow } = await services.store.approvals.expire(campaignId, reason, services.now());
  if (expiredNow) {
    const event = await services.store.events.append(
      campaignId,
      'revocation_batch_expired',
      { reason, cause: input.error?.Cause?.slice(0, 500) ?? null, heldCount: approval.heldCount },
      services.now(),
    );
    await services.store.approvals.linkApprovalEvent(campaignId, event.seq);
    await redrawApprovalMessages(services, approval);
    services.progress(`${reason[0]?.toUpperCase()}${reason.slice(1)}: held revocations rejected`);
  }
  return { campaignId, status: approval.status };
}
