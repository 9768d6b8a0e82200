import { AccessReviewError } from '../core/errors';
import type { Services } from '../runtime/services';
import type { StoredGrant } from '../store/grants';
import { type HandoverResult, postHandover } from './handover-message';

/**
 * Who may decide a grant now: its assignee when it was handed over, else the reviewer of the task
 * it belongs to. The task itself never moves (design §3).
 */
export function deciderOf(grant: Pick<StoredGrant, 'assignee' | 'reviewer'>): string | undefined {
  return (grant.assignee ?? grant.reviewer)?.toLowerCase();
}

export interface ReassignRequest {
  campaignId: string;
  /** The grants to hand over; each moves only if still undecided and still `from`'s to decide. */
  grantIds: readonly string[];
  /** Login of whoever may decide them now. */
  from: string;
  /** Login of the person who may decide them next (listed in `people`). */
  to: string;
  /** Their Slack user id, when they are reachable in Slack (the handover DM goes there). */
  toSlackUserId: string | null;
  by: 'escalation' | 'delegation';
  /** The Slack user who asked (delegation); null for escalation. */
  actorSlackUserId: string | null;
  /** What the delegator wrote, or why the escalation happened. */
  note: string | null;
}

export type SkipReason = 'not_found' | 'not_reviewed' | 'decided' | 'not_from' | 'own_access';

export interface ReassignOutcome {
  /** Grants now `to`'s to decide (by this call or an earlier attempt of the same handover). */
  moved: string[];
  skipped: Array<{ grantId: string; reason: SkipReason }>;
  /** What happened to `to`'s handover DM (`none` when nothing moved). */
  handover: HandoverResult | 'none';
}

/** The handover itself is not allowed (to oneself, to someone not in `people`). */
export class ReassignmentRefusedError extends AccessReviewError {}

/**
 * Hands grants from `from` to `to`, for escalation (ReviewCheckpoint) and delegation (the Slack
 * Delegate button). Per grant, in order:
 * 1. refused when `to` holds the access, by login (principal, holder) or by Slack user id (the
 *    holders' ids stored at assignment), as RecordDecision refuses a click on one's own access;
 * 2. skipped when a decision exists (read strongly consistent);
 * 3. a conditional update: only if the grant's decider is still `from`, it sets `assignee`,
 *    `assigneeSlackUserId`, `assignedBy`, and an outbox copy of the event;
 * 4. `grant_reassigned` is appended, then the outbox copy removed. A retried call finds a grant
 *    already moved to `to` with its outbox still set, and appends the event then, so the chain gets
 *    it once even when a Lambda stopped between the two.
 * A click by `from` that read the grant before step 3 may still record its decision after: like a
 * click that beats the window's close, it was made by the person entitled when they clicked.
 *
 * Then `to`'s handover DM lists every grant of the campaign now theirs to decide (postHandover).
 */
export async function reassignGrants(request: ReassignRequest, services: Services): Promise<ReassignOutcome> {
  const { campaignId, by } = request;
  const from = request.from.toLowerCase();
  const to = request.to.toLowerCase();
  if (from === to) throw new ReassignmentRefusedError(`${to} cannot hand grants to themselves`);
  if (!services.config.people.some((person) => person.github.toLowerCase() === to)) {
    throw new ReassignmentRefusedError(`${to} is not listed in people, so cannot be reached`);
  }
  const { store } = services;
  const moved: string[] = [];
  const skipped: ReassignOutcome['skipped'] = [];
  for (const grantId of [...new Set(request.grantIds)]) {
    const grant = await store.grants.get(campaignId, grantId);
    if (!grant) {
      skipped.push({ grantId, reason: 'not_found' });
      continue;
    }
    if (!grant.reviewer) {
      skipped.push({ grantId, reason: 'not_reviewed' });
      continue;
    }
    if (holdsAccess(grant, to, request.toSlackUserId)) {
      skipped.push({ grantId, reason: 'own_access' });
      continue;
    }
    const event = {
      grantId,
      taskReviewer: grant.reviewer,
      from,
      to,
      toSlackUserId: request.toSlackUserId,
      by,
      actorSlackUserId: request.actorSlackUserId,
      note: request.note,
    };
    if (deciderOf(grant) === to) {
      // An earlier attempt moved it; finish its event if that attempt stopped before.
      if (grant.reassignPending) await recordReassigned(services, campaignId, grantId, grant.reassignPending);
      moved.push(grantId);
      continue;
    }
    if (deciderOf(grant) !== from) {
      skipped.push({ grantId, reason: 'not_from' });
      continue;
    }
    if (await store.decisions.get(campaignId, grantId)) {
      skipped.push({ grantId, reason: 'decided' });
      continue;
    }
    const won = await store.grants.reassign(campaignId, grantId, {
      from,
      to,
      toSlackUserId: request.toSlackUserId,
      by,
      taskReviewer: grant.reviewer,
      pendingEvent: event,
    });
    if (!won) {
      skipped.push({ grantId, reason: 'not_from' });
      continue;
    }
    await recordReassigned(services, campaignId, grantId, event);
    await store.grants.recordHandover(campaignId, to, grantId, services.now());
    moved.push(grantId);
  }
  if (moved.length > 0) {
    services.progress(
      `${moved.length} grant${moved.length === 1 ? '' : 's'} of ${from} handed to ${to} (${by})`,
    );
  }
  const handover =
    moved.length === 0
      ? 'none'
      : await postHandover(services, {
          campaignId,
          assignee: to,
          assigneeSlackUserId: request.toSlackUserId,
          handed: { from, by, count: moved.length, note: request.note },
        });
  return { moved, skipped, handover };
}

/** The grants of the campaign handed to `assignee` and still theirs to decide. */
export function handedOverGrantsOf(
  services: Services,
  campaignId: string,
  assignee: string,
): Promise<StoredGrant[]> {
  return services.store.grants.handedTo(campaignId, assignee);
}

async function recordReassigned(
  services: Services,
  campaignId: string,
  grantId: string,
  event: Record<string, unknown>,
): Promise<void> {
  await services.store.events.append(campaignId, 'grant_reassigned', event, services.now());
  await services.store.grants.clearReassignPending(campaignId, grantId);
}

/** Whether `login` (or the Slack user `slackUserId`) holds the grant's access, as RecordDecision checks. */
export function holdsAccess(
  grant: Pick<StoredGrant, 'principalType' | 'principal' | 'holder' | 'holderSlackUserIds'>,
  login: string,
  slackUserId: string | null,
): boolean {
  const who = login.toLowerCase();
  if (grant.principalType === 'user' && grant.principal.toLowerCase() === who) return true;
  if (grant.holder?.toLowerCase() === who) return true;
  return slackUserId !== null && grant.holderSlackUserIds?.includes(slackUserId) === true;
}
