import { ConnectorError } from '../../core/errors';
import { type Grant, makeGrant } from '../../core/grant';
import type { AccessPath, CheckResult, RevokeResult } from '../connector';
import { type GitHubAccessKind, mayHave } from './access-kind';
import { type GitHubContext, now, runRest } from './context';
import { gitHubFailure } from './errors';
import { environmentReviewerKey, splitInOrganization } from './keys';

/** `deployment_branch_policy` as GitHub reads and writes it; null means any branch may deploy. */
type BranchPolicy = { protected_branches: boolean; custom_branch_policies: boolean } | null;

interface Reviewer {
  type: 'User' | 'Team';
  /** The numeric id a PUT names the reviewer by. */
  id: number;
  /** A user's login, or a team's slug. */
  name: string;
}

/** What an environment's protection says, read from its protection_rules. */
interface Protection {
  reviewers: Reviewer[];
  /** Reviewer entries this file could not read (no numeric id, an unknown type): a PUT would drop them. */
  unreadReviewers: number;
  preventSelfReview: boolean;
  waitTimer: number;
  branchPolicy: BranchPolicy;
}

/** What the environment body has that this file reads; octokit's type for it is a union of rule shapes. */
interface EnvironmentRecord {
  name: string;
  protection_rules?: ReadonlyArray<Record<string, unknown>>;
  deployment_branch_policy?: BranchPolicy;
}

function reviewersOf(rule: Record<string, unknown>): { reviewers: Reviewer[]; unread: number } {
  const entries = Array.isArray(rule.reviewers) ? (rule.reviewers as Array<Record<string, unknown>>) : [];
  const reviewers: Reviewer[] = [];
  let unread = 0;
  for (const entry of entries) {
    const reviewer = (entry.reviewer ?? {}) as Record<string, unknown>;
    const id = reviewer.id;
    if (typeof id === 'number' && entry.type === 'User' && typeof reviewer.login === 'string') {
      reviewers.push({ type: 'User', id, name: reviewer.login });
    } else if (typeof id === 'number' && entry.type === 'Team' && typeof reviewer.slug === 'string') {
      reviewers.push({ type: 'Team', id, name: reviewer.slug });
    } else {
      unread++;
    }
  }
  return { reviewers, unread };
}

/**
 * The protection rules as one record. A rule GitHub leaves out is a setting at its default: no
 * wait_timer rule is no wait, no required_reviewers rule is nobody to approve (and then
 * prevent_self_review, which lives on that rule, reads false).
 */
function protectionOf(environment: EnvironmentRecord): Protection {
  const protection: Protection = {
    reviewers: [],
    unreadReviewers: 0,
    preventSelfReview: false,
    waitTimer: 0,
    branchPolicy: environment.deployment_branch_policy ?? null,
  };
  for (const rule of environment.protection_rules ?? []) {
    if (rule.type === 'wait_timer' && typeof rule.wait_timer === 'number')
      protection.waitTimer = rule.wait_timer;
    if (rule.type === 'required_reviewers') {
      const { reviewers, unread } = reviewersOf(rule);
      protection.reviewers = reviewers;
      protection.unreadReviewers = unread;
      protection.preventSelfReview = rule.prevent_self_review === true;
    }
  }
  return protection;
}

const teamPrincipal = (organization: string, slug: string) => `${organization}/${slug}`;
const environmentPath = (owner: string, repo: string, name: string) =>
  `/repos/${owner}/${repo}/environments/${encodeURIComponent(name)}`;

/** What may deploy: `any`, `protected` (protected branches only), or the custom name patterns. */
async function deploymentBranchesOf(
  context: GitHubContext,
  owner: string,
  repo: string,
  environment: EnvironmentRecord,
  policy: BranchPolicy,
): Promise<'any' | 'protected' | string[]> {
  if (policy === null) return 'any';
  if (policy.protected_branches) return 'protected';
  const path = `${environmentPath(owner, repo, environment.name)}/deployment-branch-policies`;
  try {
    const policies = await context.octokit.paginate(
      'GET /repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies',
      { owner, repo, environment_name: environment.name, per_page: 100 },
    );
    // Tag patterns are marked so a reviewer does not read them as branches.
    return policies.map((policy) =>
      policy.type === 'tag' ? `tag:${policy.name ?? ''}` : (policy.name ?? ''),
    );
  } catch (error) {
    throw gitHubFailure(error, `GET ${path}`, context.token);
  }
}

/** The reviewer a grant names: a user by login, a team (`org/slug`) by slug. */
function reviewerOf(context: GitHubContext, grant: Grant): Pick<Reviewer, 'type' | 'name'> {
  if (grant.principalType === 'user') return { type: 'User', name: grant.principal };
  if (grant.principalType === 'team') {
    return { type: 'Team', name: splitInOrganization(grant.principal, context.organization, 'team')[1] };
  }
  throw new ConnectorError(
    `grant ${grant.grantId}: an environment reviewer is a user or a team, not a ${grant.principalType}`,
  );
}

function target(context: GitHubContext, grant: Grant) {
  const colon = grant.resource.indexOf(':');
  const environment = grant.resource.slice(colon + 1);
  if (colon <= 0 || environment === '') {
    throw new ConnectorError(
      `grant ${grant.grantId}: "${grant.resource}" is not of the form organization/repository:environment`,
    );
  }
  const [owner, repo] = splitInOrganization(
    grant.resource.slice(0, colon),
    context.organization,
    'repository',
  );
  const reviewer = reviewerOf(context, grant);
  return { owner, repo, environment, reviewer, path: environmentPath(owner, repo, environment) };
}

function readEnvironment(context: GitHubContext, params: ReturnType<typeof target>) {
  const { owner, repo, environment } = params;
  return runRest(context, `GET ${params.path}`, () =>
    context.octokit.request('GET /repos/{owner}/{repo}/environments/{environment_name}', {
      owner,
      repo,
      environment_name: environment,
    }),
  );
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const describeReviewer = (organization: string, reviewer: Pick<Reviewer, 'type' | 'name'>) =>
  reviewer.type === 'Team' ? `team ${teamPrincipal(organization, reviewer.name)}` : `user ${reviewer.name}`;

/**
 * Required reviewers of deployment environments: each user or team that can approve a deployment
 * (and so release what the environment's secrets protect) is a grant a person vouches for.
 * Needs the Actions (read: environments and their branch policies) and Administration (write:
 * the PUT that revokes) repository permissions, and Members (read) on the organisation to check
 * reviewers who approve through a team; a classic token needs `repo` and `read:org`.
 */
export const environments: GitHubAccessKind = {
  grantKinds: ['environment_reviewer'],

  async *snapshot(context, index) {
    const owner = context.organization;
    for (const repository of index.repositories) {
      if (!mayHave(repository, 'environments')) continue;
      const repo = repository.name;
      let records: EnvironmentRecord[];
      try {
        records = (await context.octokit.paginate('GET /repos/{owner}/{repo}/environments', {
          owner,
          repo,
          per_page: 100,
        })) as EnvironmentRecord[];
      } catch (error) {
        // Loud, 404 included: a repository the token cannot read would otherwise hide its reviewers.
        throw gitHubFailure(error, `GET /repos/${owner}/${repo}/environments`, context.token);
      }
      index.environmentNames ??= new Map();
      index.environmentNames.set(
        repo.toLowerCase(),
        records.map((environment) => environment.name),
      );
      for (const environment of records) {
        const protection = protectionOf(environment);
        if (protection.unreadReviewers > 0) {
          // Someone approves deployments here whom this code cannot name: stop, rather than leave
          // them out of the review.
          throw new ConnectorError(
            `environment ${owner}/${repo}:${environment.name} lists ${protection.unreadReviewers} required reviewer(s) of a kind the GitHub connector cannot read`,
          );
        }
        if (protection.reviewers.length === 0) continue;
        const deploymentBranches = await deploymentBranchesOf(
          context,
          owner,
          repo,
          environment,
          protection.branchPolicy,
        );
        for (const reviewer of protection.reviewers) {
          const key =
            reviewer.type === 'User'
              ? environmentReviewerKey(owner, repo, environment.name, 'user', reviewer.name)
              : environmentReviewerKey(
                  owner,
                  repo,
                  environment.name,
                  'team',
                  teamPrincipal(owner, reviewer.name),
                );
          yield makeGrant(key, {
            raw: {
              environment: environment.name,
              reviewerId: reviewer.id,
              preventSelfReview: protection.preventSelfReview,
              deploymentBranches,
              waitTimer: protection.waitTimer,
            },
            flags: protection.preventSelfReview ? [] : ['self_review_allowed'],
          });
        }
      }
    }
  },

  /**
   * GET the environment, then PUT it back with only this reviewer taken out: the PUT replaces the
   * protection, so wait timer, prevent_self_review, branch policy and the other reviewers are sent
   * as read. Removing the last reviewer would switch approval off for every deployment, which is
   * a different decision than taking one person's approval away: that is left to a person.
   */
  async revoke(context, grant): Promise<RevokeResult> {
    const params = target(context, grant);
    const who = describeReviewer(context.organization, params.reviewer);
    const before = await readEnvironment(context, params);
    if (before === 'not_found') {
      return {
        outcome: 'already_absent',
        appliedAt: now(),
        action: `GET ${params.path}: environment ${grant.resource} does not exist; nothing to PUT`,
      };
    }
    const protection = protectionOf(before.data as EnvironmentRecord);
    const isTarget = (reviewer: Reviewer) =>
      reviewer.type === params.reviewer.type && same(reviewer.name, params.reviewer.name);
    if (!protection.reviewers.some(isTarget)) {
      return {
        outcome: 'already_absent',
        appliedAt: now(),
        action: `GET ${params.path}: ${who} is not a required reviewer of ${grant.resource}; nothing to PUT`,
      };
    }
    const kept = protection.reviewers.filter((reviewer) => !isTarget(reviewer));
    if (protection.unreadReviewers > 0) {
      // The PUT replaces the whole list: reviewers this code cannot name would be removed with them.
      return {
        outcome: 'remediation_required',
        appliedAt: now(),
        action: `GET ${params.path}: ${protection.unreadReviewers} required reviewer(s) of ${grant.resource} could not be read; PUT ${params.path} not sent`,
        remediation:
          `Remove ${who} under "Required reviewers" in ${params.owner}/${params.repo} → Settings → Environments → ` +
          `${params.environment}, and save protection rules: GitHub listed reviewers the access review cannot read, ` +
          'so replacing the list through the API could remove them too.',
      };
    }
    if (kept.length === 0) {
      return {
        outcome: 'remediation_required',
        appliedAt: now(),
        action: `GET ${params.path}: ${who} is the only required reviewer of ${grant.resource}; PUT ${params.path} not sent`,
        remediation:
          `${who} is the only required reviewer of environment "${params.environment}" in ${params.owner}/${params.repo}; ` +
          'removing them through the API would let every deployment to it run without approval. In GitHub, open ' +
          `${params.owner}/${params.repo} → Settings → Environments → ${params.environment}, add the user or team who ` +
          `should approve deployments instead and remove ${who} under "Required reviewers", then save protection rules ` +
          '(or, if the environment should need no approval any more, untick "Required reviewers" deliberately).',
      };
    }
    const body = {
      wait_timer: protection.waitTimer,
      prevent_self_review: protection.preventSelfReview,
      reviewers: kept.map((reviewer) => ({ type: reviewer.type, id: reviewer.id })),
      deployment_branch_policy: protection.branchPolicy,
    };
    const call = `PUT ${params.path}`;
    const answer = await runRest(context, call, () =>
      context.octokit.request('PUT /repos/{owner}/{repo}/environments/{environment_name}', {
        owner: params.owner,
        repo: params.repo,
        environment_name: params.environment,
        ...body,
      }),
    );
    if (answer === 'not_found') {
      return { outcome: 'already_absent', appliedAt: now(), action: `${call}: the repository is gone` };
    }
    const others = kept.map((reviewer) => describeReviewer(context.organization, reviewer)).join(', ');
    return {
      outcome: 'removed',
      appliedAt: now(),
      action:
        `${call}: removed required reviewer ${who} from ${grant.resource}; kept reviewers ${others}, ` +
        `wait_timer ${body.wait_timer}, prevent_self_review ${body.prevent_self_review}, ` +
        `deployment_branch_policy ${JSON.stringify(body.deployment_branch_policy)}`,
    };
  },

  /**
   * GET the environment again. A team reviewer is present while the team is listed; a user is
   * present directly while listed, and through every listed team they are an active member of
   * (any member of a reviewing team can approve).
   */
  async check(context, grant): Promise<CheckResult> {
    const params = target(context, grant);
    const answer = await readEnvironment(context, params);
    const checkedAt = now();
    if (answer === 'not_found') return { status: 'absent', checkedAt };
    const { reviewers } = protectionOf(answer.data as EnvironmentRecord);
    const permission = grant.entitlement;
    const paths: AccessPath[] = [];
    if (
      reviewers.some(
        (reviewer) => reviewer.type === params.reviewer.type && same(reviewer.name, params.reviewer.name),
      )
    ) {
      paths.push({ via: 'direct', permission });
    }
    if (params.reviewer.type === 'User') {
      const org = context.organization;
      const username = params.reviewer.name;
      for (const team of reviewers.filter((reviewer) => reviewer.type === 'Team')) {
        const membershipPath = `/orgs/${org}/teams/${team.name}/memberships/${username}`;
        const membership = await runRest(context, `GET ${membershipPath}`, () =>
          context.octokit.request('GET /orgs/{org}/teams/{team_slug}/memberships/{username}', {
            org,
            team_slug: team.name,
            username,
          }),
        );
        // A pending membership (invited, not yet accepted) cannot approve anything yet.
        if (membership !== 'not_found' && membership.data.state === 'active') {
          paths.push({ via: `team:${teamPrincipal(org, team.name)}`, permission });
        }
      }
    }
    return paths.length > 0 ? { status: 'present', checkedAt, paths } : { status: 'absent', checkedAt };
  },
};
