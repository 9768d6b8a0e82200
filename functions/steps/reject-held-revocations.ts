import { parseJsonRecord } from '../core/records';
import type { Services } from '../runtime/services';
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
  const failure = failureMessage(input.error?.Cause);
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

/**
 * What went wrong, for the reason people read: a Lambda's Cause is JSON with `errorMessage` (on
 * AWS), or the message itself (the embedded host). Clipped: the full Cause is kept in the event.
 */
function failureMessage(cause: string | undefined): string | undefined {
  if (!cause) return undefined;
  let message = cause;
  try {
    const parsed = parseJsonRecord(cause, "the failed state's Cause");
    if (
      parsed &&
      typeof parsed === 'object' &&
      'errorMessage' in parsed &&
      typeof parsed.errorMessage === 'string'
    ) {
      message = parsed.errorMessage;
    }
  } catch {
    // Not JSON: the message as it came.
  }
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}
