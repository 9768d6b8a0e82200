import { TransientError } from '../core/errors';
import { candidatesFor, type TeamDirectory, teamDirectoryOf } from '../core/routing';
import type { Services } from '../runtime/services';
import type { StoredGrant } from '../store/grants';
import type { ReviewTask } from '../store/tasks';
import { holdsAccess, reassignGrants } from './reassign-grants';
import { loadReviewerState } from './review-task';

export interface EscalationOutcome {
  /** Login → how many grants were handed to them. */
  handedTo: Record<string, number>;
  /** Grants nobody eligible could take: they stay with the reviewer (and the log says why). */
  unassignable: number;
}

/**
 * The escalation of a task at `review.escalateAfterHours`: every grant still undecided and still
 * the task's reviewer's to decide moves to the next eligible reviewer. Which grants: all of those,
 * whether or not the reviewer decided others (a reviewer who has left most of a task for ten days
 * is not going to finish it in the last four). Grants the reviewer delegated are the delegate's and
 * are not escalated here.
 *
 * Who: for each grant, the routing candidates after the task's reviewer (functions/core/routing.ts
 * candidatesFor: the resource's owner, the team's maintainers, then the fallback reviewers), then
 * every fallback reviewer; never the task's reviewer, never a holder of the access (by login and by
 * Slack user id, as RecordDecision checks), only people listed in `people` and found in Slack.
 *
 * Idempotent: reassignGrants moves a grant only if it is still the reviewer's, and finishes a
 * handover an earlier attempt started; the task's `escalatedAt` marker is set last.
 */
export async function escalateTask(services: Services, task: ReviewTask): Promise<EscalationOutcome> {
  const { campaignId } = task;
  const reviewer = task.reviewer.toLowerCase();
  const state = await loadReviewerState(services, task);
  const stillTheirs = state.grants.filter(
    (grant) => !state.decisions.has(grant.grantId) && (grant.assignee ?? reviewer).toLowerCase() === reviewer,
  );
  // A retried escalation also finishes grants an earlier attempt moved but did not record yet.
  const unfinished = state.grants.filter((grant) => grant.reassignPending);
  const teams = await teamsFor(services, campaignId, stillTheirs);
  const slackIds = new SlackDirectory(services);
  const groups = new Map<string, { slackUserId: string; grantIds: string[] }>();
  let unassignable = 0;
  for (const grant of stillTheirs) {
    const next = await nextReviewer(services, grant, reviewer, teams, slackIds);
    if (!next) {
      unassignable += 1;
      services.log.warn('escalation found nobody eligible; the grant stays with its reviewer', {
        campaignId,
        grantId: grant.grantId,
        reviewer,
      });
      continue;
    }
    const group = groups.get(next.login) ?? { slackUserId: next.slackUserId, grantIds: [] };
    group.grantIds.push(grant.grantId);
    groups.set(next.login, group);
  }
  for (const grant of unfinished) {
    const to = String(grant.reassignPending?.to ?? '');
    if (!to || grant.reassignPending?.by !== 'escalation') continue;
    const group = groups.get(to) ?? { slackUserId: String(grant.assigneeSlackUserId ?? ''), grantIds: [] };
    group.grantIds.push(grant.grantId);
    groups.set(to, group);
  }
  const hours = services.config.review.escalateAfterHours;
  const handedTo: Record<string, number> = {};
  for (const [to, group] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const outcome = await reassignGrants(
      {
        campaignId,
        grantIds: group.grantIds,
        from: reviewer,
        to,
        toSlackUserId: group.slackUserId || null,
        by: 'escalation',
        actorSlackUserId: null,
        note: `no decision from ${reviewer} within ${hours} hours of the request`,
      },
      services,
    );
    if (outcome.moved.length > 0) handedTo[to] = outcome.moved.length;
  }
  await services.store.tasks.markEscalated(campaignId, task.reviewer, services.now());
  const total = Object.values(handedTo).reduce((sum, count) => sum + count, 0);
  if (total > 0) await tellReviewer(services, task, handedTo);
  return { handedTo, unassignable };
}

/**
 * The team directory routing needs, read only when a grant needs it (a team's maintainers, the
 * organisation's owners for its base permission): one read of the campaign's grants per
 * escalation that needs it, none otherwise.
 */
async function teamsFor(
  services: Services,
  campaignId: string,
  grants: readonly StoredGrant[],
): Promise<TeamDirectory> {
  const needsTeams = grants.some(
    (grant) =>
      grant.grantKind === 'organization_base_permission' ||
      (services.config.routing.teamMaintainersReview && grant.resourceType === 'team'),
  );
  if (!needsTeams) return { members: new Map(), maintainers: new Map() };
  return teamDirectoryOf(await services.store.grants.list(campaignId));
}

async function nextReviewer(
  services: Services,
  grant: StoredGrant,
  current: string,
  teams: TeamDirectory,
  slackIds: SlackDirectory,
): Promise<{ login: string; slackUserId: string } | undefined> {
  const { candidates } = candidatesFor(grant, services.config, teams);
  const logins = candidates.map((candidate) => candidate.login.toLowerCase());
  const at = logins.indexOf(current);
  const ordered = [
    ...(at >= 0 ? logins.slice(at + 1) : logins),
    ...services.config.routing.fallbackReviewers.map((login) => login.toLowerCase()),
  ];
  const listed = new Set(services.config.people.map((person) => person.github.toLowerCase()));
  const taskReviewer = grant.reviewer?.toLowerCase();
  for (const login of new Set(ordered)) {
    if (login === current || login === taskReviewer || !listed.has(login)) continue;
    if (holdsAccess(grant, login, null)) continue;
    const slackUserId = await slackIds.of(login);
    if (!slackUserId) continue;
    // Another login of a holder (the same Slack user) is a holder too.
    if (holdsAccess(grant, login, slackUserId)) continue;
    return { login, slackUserId };
  }
  return undefined;
}

/** Slack user ids by login (users.lookupByEmail), each person looked up once per escalation. */
class SlackDirectory {
  private readonly found = new Map<string, string | undefined>();
  constructor(private readonly services: Services) {}

  async of(login: string): Promise<string | undefined> {
    if (this.found.has(login)) return this.found.get(login);
    const person = this.services.config.people.find((candidate) => candidate.github.toLowerCase() === login);
    let id: string | undefined;
    if (person) {
      const slack = await this.services.slack();
      try {
        id = (await slack.users.lookupByEmail({ email: person.email })).user?.id;
      } catch (error) {
        const code = (error as { data?: { error?: unknown } }).data?.error;
        if (code !== 'users_not_found') {
          throw new TransientError(`Slack lookup for ${login} failed (${String(code ?? 'no error code')})`, {
            cause: error,
          });
        }
      }
    }
    this.found.set(login, id);
    return id;
  }
}

/** A reply in the reviewer's DM thread: which of their grants went to whom. Never fatal. */
async function tellReviewer(
  services: Services,
  task: ReviewTask,
  handedTo: Record<string, number>,
): Promise<void> {
  if (!task.channelId || !task.messageTs) return;
  const list = Object.entries(handedTo)
    .map(([login, count]) => `${count} to ${login}`)
    .join(', ');
  try {
    const slack = await services.slack();
    await slack.chat.postMessage({
      channel: task.channelId,
      thread_ts: task.messageTs,
      text: `Your undecided grants were escalated after ${services.config.review.escalateAfterHours} hours: ${list}. They decide them now; what you already decided stays as it is.`,
    });
  } catch (error) {
    services.log.warn('could not tell the reviewer about the escalation', {
      campaignId: task.campaignId,
      reviewer: task.reviewer,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
