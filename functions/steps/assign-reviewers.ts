import type { AccessReviewConfig } from '../core/config';
import { TransientError } from '../core/errors';
import { MAX_REVIEWERS_ASKED_AT_ONCE } from '../core/limits';
import { type Route, routeGrant, teamDirectoryOf } from '../core/routing';
import type { Services } from '../runtime/services';
import type { CampaignRef } from './snapshot';

export interface AssignReviewersOutput extends CampaignRef {
  /** GitHub logins; the workflow's Map runs one review task per entry. */
  reviewers: string[];
  reviewerCount: number;
  unroutableCount: number;
}

function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } }).data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/**
 * Routes every reviewable grant to one reviewer and creates one task per reviewer. A reviewer who
 * cannot be found in Slack is treated as unreachable and their grants go to the next candidate, so
 * nobody is assigned a task they will never see.
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
  const teams = teamDirectoryOf(grants);
  const slack = await services.slack();
  const slackIds = new Map<string, string>();
  const unreachable = new Map<string, string>();
  let reachableConfig: AccessReviewConfig = config;
  let routes = new Map<string, Route>();

  // Route, look the chosen reviewers up in Slack, and route again without anyone not found.
  for (;;) {
    routes = new Map(reviewable.map((grant) => [grant.grantId, routeGrant(grant, reachableConfig, teams)]));
    const chosen = new Set([...routes.values()].flatMap((route) => (route.reviewer ? [route.reviewer] : [])));
    let changed = false;
    for (const login of chosen) {
      if (slackIds.has(login)) continue;
      const person = config.people.find((p) => p.github.toLowerCase() === login);
      try {
        const found = await slack.users.lookupByEmail({ email: person?.email ?? '' });
        if (!found.user?.id) throw new Error('users.lookupByEmail returned no user id');
        slackIds.set(login, found.user.id);
      } catch (error) {
        const code = slackErrorCode(error);
        if (code !== 'users_not_found') {
          throw new TransientError(`Slack lookup for reviewer ${login} failed (${code ?? 'no error code'})`, {
            cause: error,
          });
        }
        unreachable.set(login, 'not found in Slack by email');
        services.log.warn('reviewer not found in Slack; routing to the next candidate', {
          campaignId,
          reviewer: login,
        });
        changed = true;
      }
    }
    if (!changed) break;
    reachableConfig = {
      ...config,
      people: config.people.filter((p) => !unreachable.has(p.github.toLowerCase())),
    };
  }

  const dueAt = new Date(services.now().getTime() + config.review.windowHours * 3_600_000).toISOString();
  const counts = new Map<string, number>();
  let unroutable = 0;
  for (const grant of reviewable) {
    const route = routes.get(grant.grantId)!;
    await store.grants.assign(campaignId, grant.grantId, route.reviewer, route.reason);
    if (route.reviewer) counts.set(route.reviewer, (counts.get(route.reviewer) ?? 0) + 1);
    else unroutable++;
  }
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
    await store.tasks.create({
      campaignId,
      reviewer,
      slackUserId: slackIds.get(reviewer)!,
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
  return { campaignId, reviewers, reviewerCount: reviewers.length, unroutableCount: unroutable };
}
