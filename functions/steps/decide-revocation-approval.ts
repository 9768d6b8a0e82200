import { AccessReviewError } from '../core/errors';
import type { Services } from '../runtime/services';
import type { ApprovalRequest, Approver } from '../store/approvals';
import { loadGuardedRevocations } from './request-revocation-approval';

export interface ApprovalDecisionRequest {
  campaignId: string;
  decision: 'approved' | 'rejected';
  /** Who clicked, from the signed Slack request (never from the button's value). */
  slackUserId: string;
}

export type ApprovalDecisionOutcome =
  | { kind: 'decided'; approval: ApprovalRequest }
  | { kind: 'already'; approval: ApprovalRequest }
  | { kind: 'refused'; reason: string };

export class ApprovalDecisionError extends AccessReviewError {}

/**
 * The security team's answer on a held batch. Only an approver the request was sent to may
 * decide, never one who holds a held grant (nobody approves the removal of their own access, or
 * rejects it to keep it), and only once: the conditional write on the request decides who was
 * first. The winner records the event and resumes the workflow; a refusal writes nothing.
 */
export async function decideRevocationApproval(
  request: ApprovalDecisionRequest,
  services: Services,
): Promise<ApprovalDecisionOutcome> {
  const { campaignId, decision, slackUserId } = request;
  const { store } = services;
  const approval = await store.approvals.get(campaignId);
  if (!approval) return { kind: 'refused', reason: 'this campaign has no revocations waiting for approval.' };
  const approver = approval.approvers.find((candidate) => candidate.slackUserId === slackUserId);
  if (!approver) {
    return {
      kind: 'refused',
      reason: `only the security team (${approval.approvers.map((a) => a.login).join(', ') || 'nobody reachable'}) can approve or reject these revocations.`,
    };
  }
  if (approval.status !== 'awaiting') return { kind: 'already', approval };
  const held = await heldGrantsOf(services, campaignId, approver);
  if (held.length > 0) {
    return {
      kind: 'refused',
      reason: `you hold ${held.length === 1 ? 'one of the held grants' : `${held.length} of the held grants`} (${held
        .slice(0, 3)
        .join('; ')}${held.length > 3 ? '; …' : ''}), so another member of the security team must decide.`,
    };
  }
  const decidedAt = services.now();
  const written = await store.approvals.decide(campaignId, decision, approver, decidedAt);
  if (!written) {
    const now = await store.approvals.get(campaignId);
    if (!now) throw new ApprovalDecisionError(`the approval request of campaign ${campaignId} vanished`);
    return { kind: 'already', approval: now };
  }
  const event = await store.events.append(
    campaignId,
    decision === 'approved' ? 'revocation_batch_approved' : 'revocation_batch_rejected',
    {
      approver: approver.login,
      slackUserId: approver.slackUserId,
      heldCount: written.approval.heldCount,
      decidedAt: decidedAt.toISOString(),
    },
    services.now(),
  );
  await store.approvals.linkApprovalEvent(campaignId, event.seq);
  if (written.taskToken) {
    try {
      await services.tasks.succeed(written.taskToken, { decision });
    } catch (error) {
      // The decision is recorded; if the workflow cannot be resumed now, the approval window's end
      // runs the Catch, which finds the decision and leaves it as it is.
      services.log.error('could not resume the workflow after the approval decision', {
        campaignId,
        error: error instanceof Error ? error.name : String(error),
      });
    }
  }
  services.progress(
    `Held revocations ${decision} by ${approver.login} (Slack ${approver.slackUserId}): ${written.approval.heldCount} revocation(s) ${decision === 'approved' ? 'will be applied' : 'will be recorded as rejected'}`,
  );
  return { kind: 'decided', approval: written.approval };
}

/** The held revocations the approver benefits from: their own login, or an AWS principal they act as. */
async function heldGrantsOf(services: Services, campaignId: string, approver: Approver): Promise<string[]> {
  const login = approver.login.toLowerCase();
  const person = services.config.people.find((p) => p.github.toLowerCase() === login);
  const arns = new Set(person?.aws ?? []);
  const { held } = await loadGuardedRevocations(services, campaignId);
  return held
    .filter(({ grant }) =>
      grant.connector === 'github'
        ? [grant.principal, grant.holder].some((name) => name?.toLowerCase() === login)
        : arns.has(grant.principal),
    )
    .map(({ grant }) => `${grant.principal} ${grant.entitlement} on ${grant.resource}`);
}
