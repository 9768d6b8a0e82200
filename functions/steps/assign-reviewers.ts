import type { AccessReviewConfig } from '../core/config';
import { NotFoundError, TransientError } from '../core/errors';
import type { GrantContext } from '../core/grant-context';
import { MAX_REVIEWERS_ASKED_AT_ONCE } from '../core/limits';
import {
  allHoldersOf,
  candidatesFor,
  type Route,
  routeGrant,
  type SlackIdentities,
  teamDirectoryOf,
} from '../core/routing';
import { emailReviewTask, type ReviewTaskEmail } from '../email/review-task';
import { assignmentDigest } from '../evidence/grant-digest';
import type { Services } from '../runtime/services';
import { canonicalJson } from '../store/events';
import type { GrantAssignment, StoredGrant } from '../store/grants';
import { type GrantContextStats, grantContexts } from './grant-context';
import type { CampaignRef } from './snapshot';
import { campaignScope } from './start-campaign';

export interface AssignReviewersOutput extends CampaignRef {
  /** GitHub logins; the workflow's Map runs one review task per entry. */
  reviewers: string[];
  reviewerCount: number;
  unroutableCount: number;
}

/**
 * Grant updates in flight at once: 21,900 one by one took 34–36 s on the embedded host; see
 * bench/campaign-cost.ts for the figures at this setting.
 */
const ASSIGN_CONCURRENCY = 16;

/** Whether the stored grant already carries exactly this assignment (a retried step skips it). */
function alreadyAssigned(
  grant: StoredGrant,
  reviewer: string | undefined,
  reason: string,
  holderSlackUserIds: readonly string[],
  context: GrantContext | undefined,
): boolean {
  if (grant.routingReason !== reason) return false;
  if (canonicalJson(grant.context ?? null) !== canonicalJson(context ?? null)) return false;
  if (grant.reviewer !== reviewer) return false;
  const stored = grant.holderSlackUserIds ?? [];
  return stored.length === holderSlackUserIds.length && stored.every((id, i) => id === holderSlackUserIds[i]);
}

function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } }).data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/** Slack users reached by more than one login (email aliases), each with its logins sorted. */
function loginsBySlackUser(identities: SlackIdentities): Array<{ slackUserId: string; logins: string[] }> {
  const bySlackUser = new Map<string, string[]>();
  for (const [login, slackUserId] of identities) {
    bySlackUser.set(slackUserId, [...(bySlackUser.get(slackUserId) ?? []), login]);
  }
  return [...bySlackUser]
    .filter(([, logins]) => logins.length > 1)
    .map(([slackUserId, logins]) => ({ slackUserId, logins: logins.sort() }))
    .sort((a, b) => (a.logins[0] ?? '').localeCompare(b.logins[0] ?? ''));
}

/**
 * Routes every reviewable grant to one reviewer and creates one task per reviewer. A reviewer who
 * cannot be found in Slack is treated as unreachable and their grants go to the next candidate, so
 * nobody is assigned a task they will never see. Logins that reach one Slack user are one person:
 * none of them reviews what another holds, and each grant keeps its holders' Slack user ids for
 * RecordDecision to check the clicker against.
 */
export async function assignReviewers(
  input: CampaignRef,
  services: Services,
): Promise<AssignReviewersOutput> {
  const { campaignId } = input;
  const { store, config } = services;
  const campaign = await store.campaigns.get(campaignId);
  if (campaign.status !== 'assigning') {
    const tasks = await store.tasks.list(campaignId);
    return {
      campaignId,
      reviewers: tasks.map((t) => t.reviewer).sort(),
      reviewerCount: tasks.length,
      unroutableCount: campaign.counts.unroutable ?? 0,
    };
  }
  const grants = await store.grants.list(campaignId);
  const reviewable = grants.filter((grant) => grant.reviewable);
  // A scoped campaign's snapshot holds only its scope; who holds what (team members, owners, who can
  // push where) also comes from the grants it kept for routing, so nobody reviews access they hold.
  const scoped = campaignScope(campaign).terms.length > 0;
  const routingFacts = scoped ? await store.routingFacts.list(campaignId) : [];
  const teams = teamDirectoryOf([...grants, ...routingFacts]);
  const holders = new Map(reviewable.map((grant) => [grant.grantId, allHoldersOf(grant, config, teams)]));

  // Everyone in people who holds a reviewable grant or may be asked about one is looked up before
  // routing: two logins whose emails reach one Slack user are one person, which routing must know
  // before it picks anyone, not only after.
  const listed = new Map(config.people.map((person) => [person.github.toLowerCase(), person]));
  const involved = new Set<string>();
  for (const grant of reviewable) {
    for (const login of holders.get(grant.grantId) ?? []) if (listed.has(login)) involved.add(login);
    for (const candidate of candidatesFor(grant, config, teams).candidates) {
      const login = candidate.login.toLowerCase();
      if (listed.has(login)) involved.add(login);
    }
  }
  const slack = await services.slack();
  const identities = new Map<string, string>();
  const unreachable = new Map<string, string>();
  // Each person once (config refuses a login or an email listed twice); sorted so runs match.
  for (const login of [...involved].sort()) {
    const person = listed.get(login);
    try {
      const found = await slack.users.lookupByEmail({ email: person?.email ?? '' });
      if (!found.user?.id) throw new Error('users.lookupByEmail returned no user id');
      identities.set(login, found.user.id);
    } catch (error) {
      const code = slackErrorCode(error);
      if (code !== 'users_not_found') {
        throw new TransientError(`Slack lookup for ${login} failed (${code ?? 'no error code'})`, {
          cause: error,
        });
      }
      unreachable.set(login, 'not found in Slack by email');
      services.log.warn('person not found in Slack; not asked to review, routing to the next candidate', {
        campaignId,
        reviewer: login,
      });
    }
  }
  const sameSlackUser = loginsBySlackUser(identities);
  for (const { slackUserId, logins } of sameSlackUser) {
    services.log.warn('logins reach one Slack user; treated as one person', {
      campaignId,
      slackUserId,
      logins,
    });
    services.progress(
      `Note: ${logins.join(' and ')} are one Slack user (${slackUserId}), treated as one person`,
    );
  }

  const reachableConfig: AccessReviewConfig =
    unreachable.size === 0
      ? config
      : { ...config, people: config.people.filter((p) => !unreachable.has(p.github.toLowerCase())) };
  const routes = new Map<string, Route>(
    reviewable.map((grant) => [grant.grantId, routeGrant(grant, reachableConfig, teams, identities)]),
  );
  // Who would have been asked had everyone been found in Slack: a person routed around this way
  // (an owner with no Slack account) is told by email what went to someone else (emailRoutedAround).
  const routedAround = new Map<string, Map<string, string | undefined>>();
  if (unreachable.size > 0) {
    for (const grant of reviewable) {
      const first = routeGrant(grant, config, teams, identities).reviewer;
      if (!first || !unreachable.has(first.toLowerCase())) continue;
      const login = first.toLowerCase();
      const grantsOf = routedAround.get(login) ?? new Map<string, string | undefined>();
      grantsOf.set(grant.grantId, routes.get(grant.grantId)?.reviewer);
      routedAround.set(login, grantsOf);
    }
  }

  // What the reviewer sees beside each grant: new since the last campaign that covered it, its
  // decision then and who made it, when the principal was last active (one read per earlier campaign).
  const contextStats: GrantContextStats = { campaignsRead: [], earlierGrantsRead: 0, earlierGrantsKept: 0 };
  const contexts = await grantContexts(campaign, reviewable, services, contextStats);

  const dueAt = new Date(services.now().getTime() + config.review.windowHours * 3_600_000).toISOString();
  const counts = new Map<string, number>();
  let unroutable = 0;
  const assignments: GrantAssignment[] = [];
  for (const grant of reviewable) {
    const route = routes.get(grant.grantId)!;
    const holderSlackUserIds = [
      ...new Set(
        [...(holders.get(grant.grantId) ?? [])].flatMap((login) => {
          const id = identities.get(login);
          return id ? [id] : [];
        }),
      ),
    ].sort();
    // A retried step writes only what an earlier attempt did not already store as it is now.
    const context = contexts.get(grant.grantId);
    if (!alreadyAssigned(grant, route.reviewer, route.reason, holderSlackUserIds, context)) {
      assignments.push({
        grantId: grant.grantId,
        reviewer: route.reviewer,
        routingReason: route.reason,
        holderSlackUserIds,
        ...(context ? { context } : {}),
      });
    }
    if (route.reviewer) counts.set(route.reviewer, (counts.get(route.reviewer) ?? 0) + 1);
    else unroutable++;
  }
  await store.grants.assignMany(campaignId, assignments, ASSIGN_CONCURRENCY);
  // Every grant as it is now assigned (derived ones keep what they have: nobody), for the digest
  // that anchors grants.csv's reviewer and routing_reason columns in the chain.
  const digest = assignmentDigest(
    grants.map((grant) => {
      const route = routes.get(grant.grantId);
      return route
        ? { grantId: grant.grantId, reviewer: route.reviewer, routingReason: route.reason }
        : grant;
    }),
  );
  const reviewers = [...counts.keys()].sort();
  if (reviewers.length > MAX_REVIEWERS_ASKED_AT_ONCE) {
    // The workflow asks at most this many at once; later ones would start only as others finish.
    services.log.warn('more reviewers than the workflow asks at once; some reviews start late', {
      campaignId,
      reviewers: reviewers.length,
      askedAtOnce: MAX_REVIEWERS_ASKED_AT_ONCE,
    });
  }
  for (const reviewer of reviewers) {
    // Routing only picks people in reachableConfig, all of whom were found in Slack above.
    const slackUserId = identities.get(reviewer);
    if (!slackUserId) throw new NotFoundError(`reviewer ${reviewer} was routed to but has no Slack user id`);
    await store.tasks.create({
      campaignId,
      reviewer,
      slackUserId,
      grantCount: counts.get(reviewer)!,
      status: 'pending',
      dueAt,
    });
  }
  await store.events.appendOnce(
    campaignId,
    'reviewers_assigned',
    {
      reviewers: reviewers.map((login) => ({ login, grantCount: counts.get(login) })),
      unroutable,
      unreachable: [...unreachable.entries()].map(([login, why]) => ({ login, why })),
      // People who would have been asked but are not in Slack: their grants went to the next
      // candidate, and they are told so by email.
      routedAround: [...routedAround.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([login, grantsOf]) => ({ login, grantCount: grantsOf.size })),
      // Who is who in Slack for everyone involved, so the evidence shows why a candidate sharing
      // a Slack user with a holder was passed over.
      identities: [...identities.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([login, slackUserId]) => ({ login, slackUserId })),
      sameSlackUser,
      assignmentDigest: digest,
      // What reviewers.csv shows for a task never requested.
      dueAt,
    },
    services.now(),
  );
  await store.campaigns.advance(campaignId, 'in_review', {
    counts: { reviewers: reviewers.length, unroutable },
  });
  services.progress(
    `Assigned ${reviewable.length - unroutable} grants to ${reviewers.length} reviewers` +
      (unroutable > 0 ? `; ${unroutable} had no eligible reviewer` : ''),
  );
  services.progress(describeContexts(contexts, contextStats));
  await emailRoutedAround(campaignId, routedAround, reviewable, dueAt, services);
  return { campaignId, reviewers, reviewerCount: reviewers.length, unroutableCount: unroutable };
}

/**
 * Tells each person routed around for lack of Slack (an owner with no Slack account) by email which
 * of their grants went to whom: routing is unchanged (a reviewer in Slack decides), and nothing is
 * decided by email (functions/email/review-task.ts). Sent once per campaign and person
 * (`email_sent` purpose review_task); without an email configuration nothing is sent.
 */
async function emailRoutedAround(
  campaignId: string,
  routedAround: ReadonlyMap<string, ReadonlyMap<string, string | undefined>>,
  reviewable: readonly StoredGrant[],
  dueAt: string,
  services: Services,
): Promise<void> {
  for (const [login, routedTo] of [...routedAround].sort(([a], [b]) => a.localeCompare(b))) {
    const person = services.config.people.find((p) => p.github.toLowerCase() === login);
    if (!person) continue;
    const task: ReviewTaskEmail & { routedTo: Record<string, string | null> } = {
      campaignId,
      reviewer: person.github,
      email: person.email,
      grants: reviewable.filter((grant) => routedTo.has(grant.grantId)),
      dueAt,
      routedTo: Object.fromEntries([...routedTo].map(([grantId, to]) => [grantId, to ?? null])),
    };
    const outcome = await emailReviewTask(services, task);
    if (outcome === 'sent') {
      services.progress(
        `Emailed ${person.github} (not found in Slack): ${routedTo.size} grant(s) they would review went to the next reviewer`,
      );
    }
  }
}

/** `Context: compared with 2026-Q3-… (1 earlier campaign read): 3 new, 61 decided then`. */
function describeContexts(contexts: ReadonlyMap<string, GrantContext>, stats: GrantContextStats): string {
  if (stats.campaignsRead.length === 0) return 'Context: no earlier completed campaign covers these grants';
  let fresh = 0;
  let decided = 0;
  for (const context of contexts.values()) {
    if (context.newSinceLastCampaign) fresh++;
    if (context.lastDecision) decided++;
  }
  const read = stats.campaignsRead.length;
  return (
    `Context: compared with ${stats.campaignsRead.join(', ')} (${read} earlier campaign${read === 1 ? '' : 's'} read, ` +
    `${stats.earlierGrantsRead} grants): ${fresh} new since, ${decided} decided then`
  );
}
