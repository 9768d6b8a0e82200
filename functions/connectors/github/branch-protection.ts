import { ConnectorError } from '../../core/errors';
import { type Grant, type GrantFlag, makeGrant } from '../../core/grant';
import type { AccessPath, CheckResult, RevokeResult } from '../connector';
import { type GitHubAccessKind, mayHave } from './access-kind';
import { type GitHubContext, now, runRest } from './context';
import { statusOf } from './errors';
import { branchBypassKey, splitInOrganization } from './keys';

/*
 * Classic branch protection of each repository's default branch: who is on its push restrictions
 * (`push`) and who may merge without its required reviews (`bypass_pull_request_reviews`). Each
 * listed user, team and app is a grant of its own, removed from exactly that list.
 * Token permission: repository "Administration: read" to read protection, "write" to revoke.
 */

type ActorKind = 'users' | 'teams' | 'apps';
type Entitlement = 'push' | 'bypass_pull_request_reviews';
type Lists = Record<ActorKind, string[]>;

/** What one GET of a branch's protection says, reduced to names. */
interface Protection {
  requiredApprovals: number;
  reviewsRequired: boolean;
  enforceAdmins: boolean;
  /** Null when the branch has no push restrictions (anyone with write may push). */
  push: Lists | null;
  /** Null when pull request reviews are not required (there is nothing to bypass). */
  bypass: Lists | null;
}

const KIND_OF = { user: 'users', team: 'teams', app: 'apps' } as const;

function names(
  list:
    | {
        users?: Array<{ login?: string }>;
        teams?: Array<{ slug?: string }>;
        apps?: Array<{ slug?: string } | null>;
      }
    | null
    | undefined,
): Lists | null {
  if (!list) return null;
  const present = (value: string | undefined): value is string => typeof value === 'string' && value !== '';
  return {
    users: (list.users ?? []).map((user) => user.login).filter(present),
    teams: (list.teams ?? []).map((team) => team.slug).filter(present),
    apps: (list.apps ?? []).map((app) => app?.slug).filter(present),
  };
}

function protectionPath(owner: string, repo: string, branch: string): string {
  return `/repos/${owner}/${repo}/branches/${branch}/protection`;
}

/**
 * GET the branch's protection; 'not_found' when it is not protected (or the repository is gone).
 * With `strict` (the snapshot), only GitHub's own "Branch not protected" counts as unprotected:
 * GitHub also answers 404 to a token that may not read a repository's protection, and reading
 * that as "unprotected" would hide its bypass lists.
 */
async function readProtection(
  context: GitHubContext,
  owner: string,
  repo: string,
  branch: string,
  options: { strict?: boolean } = {},
): Promise<Protection | 'not_found'> {
  const call = `GET ${protectionPath(owner, repo, branch)}`;
  const answer = await runRest(context, call, async () => {
    try {
      return await context.octokit.request('GET /repos/{owner}/{repo}/branches/{branch}/protection', {
        owner,
        repo,
        branch,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      if (options.strict && statusOf(error) === 404 && !/Branch not protected/i.test(message)) {
        throw new ConnectorError(
          `GitHub ${call} answered 404 "${message}" instead of "Branch not protected": the token may not read this repository's protection`,
          { cause: error },
        );
      }
      throw error;
    }
  });
  if (answer === 'not_found') return 'not_found';
  const reviews = answer.data.required_pull_request_reviews;
  const requiredApprovals = reviews?.required_approving_review_count ?? 0;
  return {
    requiredApprovals,
    reviewsRequired: reviews !== undefined && requiredApprovals >= 1,
    enforceAdmins: answer.data.enforce_admins?.enabled ?? false,
    push: names(answer.data.restrictions),
    bypass: reviews
      ? (names(reviews.bypass_pull_request_allowances) ?? { users: [], teams: [], apps: [] })
      : null,
  };
}

function entitlementOf(grant: Grant): Entitlement {
  if (grant.entitlement === 'push' || grant.entitlement === 'bypass_pull_request_reviews') {
    return grant.entitlement;
  }
  throw new ConnectorError(
    `grant ${grant.grantId}: "${grant.entitlement}" on branch ${grant.resource} is not an entitlement the GitHub connector knows (push, bypass_pull_request_reviews)`,
  );
}

/** Where a grant points: the repository, branch, which list and which name on it. */
function target(context: GitHubContext, grant: Grant) {
  const colon = grant.resource.indexOf(':');
  if (colon <= 0 || colon === grant.resource.length - 1) {
    throw new ConnectorError(`branch "${grant.resource}" is not of the form organization/repository:branch`);
  }
  const [owner, repo] = splitInOrganization(
    grant.resource.slice(0, colon),
    context.organization,
    'repository',
  );
  const branch = grant.resource.slice(colon + 1);
  const principalType = grant.principalType;
  if (principalType !== 'user' && principalType !== 'team' && principalType !== 'app') {
    throw new ConnectorError(
      `grant ${grant.grantId}: a ${principalType} cannot be on a branch protection list (user, team, app)`,
    );
  }
  const kind = KIND_OF[principalType];
  const name =
    principalType === 'team'
      ? splitInOrganization(grant.principal, context.organization, 'team')[1]
      : grant.principal;
  return { owner, repo, branch, kind, name, entitlement: entitlementOf(grant) };
}

/** The branch of an admin exemption grant; anything but the `admin` role's `bypass_protection` is refused. */
function adminTarget(context: GitHubContext, grant: Grant) {
  if (grant.principal !== 'admin' || grant.entitlement !== 'bypass_protection') {
    throw new ConnectorError(
      `grant ${grant.grantId}: the role ${grant.principal} with ${grant.entitlement} is not a branch protection exemption the GitHub connector knows (admin, bypass_protection)`,
    );
  }
  const colon = grant.resource.indexOf(':');
  const [owner, repo] = splitInOrganization(
    grant.resource.slice(0, colon),
    context.organization,
    'repository',
  );
  return { owner, repo, branch: grant.resource.slice(colon + 1) };
}

/**
 * POST enforce_admins: the branch's protection then binds administrators too. GET first, so a
 * branch no longer protected, or already enforcing it, is honestly already absent.
 */
async function enforceAdmins(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const { owner, repo, branch } = adminTarget(context, grant);
  const path = `${protectionPath(owner, repo, branch)}/enforce_admins`;
  const before = await readProtection(context, owner, repo, branch);
  if (before === 'not_found' || before.enforceAdmins) {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `GET ${protectionPath(owner, repo, branch)}: ${
        before === 'not_found'
          ? `${branch} of ${owner}/${repo} is not protected`
          : 'administrators are already included'
      }; POST ${path} not needed`,
    };
  }
  const answer = await runRest(context, `POST ${path}`, () =>
    context.octokit.request('POST /repos/{owner}/{repo}/branches/{branch}/protection/enforce_admins', {
      owner,
      repo,
      branch,
    }),
  );
  if (answer === 'not_found') {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `POST ${path}: branch or repository is gone`,
    };
  }
  return {
    outcome: 'removed',
    appliedAt: now(),
    action: `POST ${path}: ${grant.resource}'s protection now includes administrators`,
  };
}

const listed = (list: string[], name: string) =>
  list.some((item) => item.toLowerCase() === name.toLowerCase());

function listOf(protection: Protection, entitlement: Entitlement): Lists | null {
  return entitlement === 'push' ? protection.push : protection.bypass;
}

function describeList(entitlement: Entitlement): string {
  return entitlement === 'push' ? 'push restrictions' : 'pull request review bypass list';
}

export const branchProtection: GitHubAccessKind = {
  grantKinds: ['branch_protection_bypass'],

  /**
   * GET the protection of each repository's default branch. Unprotected (404): no grants and the
   * branch needs no review. Protected: it needs review when at least one approval is required.
   */
  async *snapshot(context, index) {
    const org = context.organization;
    for (const repository of index.repositories) {
      const branch = repository.defaultBranch;
      if (!branch) continue;
      const key = repository.name.toLowerCase();
      if (!mayHave(repository, 'branchProtectionRules')) {
        // GraphQL counted no protection rule on this repository: nothing protects its branches.
        index.defaultBranchRequiresReview.set(key, false);
        continue;
      }
      const protection = await readProtection(context, org, repository.name, branch, { strict: true });
      if (protection === 'not_found') {
        index.defaultBranchRequiresReview.set(key, false);
        continue;
      }
      index.defaultBranchRequiresReview.set(key, protection.reviewsRequired);
      index.defaultBranchRestrictions.set(key, {
        reviewsRequired: protection.reviewsRequired,
        pushRestricted: protection.push !== null,
        enforceAdmins: protection.enforceAdmins,
      });
      const raw = {
        branch,
        requiredApprovals: protection.requiredApprovals,
        enforceAdmins: protection.enforceAdmins,
      };
      if (!protection.enforceAdmins) {
        // Admins are exempt from every rule of this protection: a grant of its own, revoked by
        // holding admins to the rules too.
        yield makeGrant(branchBypassKey(org, repository.name, branch, 'role', 'admin', 'bypass_protection'), {
          raw,
        });
      }
      const lists: Array<[Entitlement, Lists | null]> = [
        ['push', protection.push],
        ['bypass_pull_request_reviews', protection.bypass],
      ];
      for (const [entitlement, list] of lists) {
        if (!list) continue;
        for (const login of list.users) {
          // Someone on the list who is not an org member is an outside collaborator (when members are known).
          const flags: GrantFlag[] =
            index.members.size > 0 && !index.members.has(login.toLowerCase()) ? ['outside_collaborator'] : [];
          yield makeGrant(branchBypassKey(org, repository.name, branch, 'user', login, entitlement), {
            raw,
            flags,
          });
        }
        for (const slug of list.teams) {
          yield makeGrant(
            branchBypassKey(org, repository.name, branch, 'team', `${org}/${slug}`, entitlement),
            {
              raw,
            },
          );
        }
        for (const slug of list.apps) {
          yield makeGrant(branchBypassKey(org, repository.name, branch, 'app', slug, entitlement), { raw });
        }
      }
    }
  },

  /**
   * GET the protection first, so "removed" and "already absent" are honest. `push`: DELETE the
   * actor from the restrictions list of its type. `bypass_pull_request_reviews`: PATCH the review
   * protection with the three bypass lists, this actor left out and the others as they were.
   */
  async revoke(context, grant): Promise<RevokeResult> {
    if (grant.principalType === 'role') return enforceAdmins(context, grant);
    const { owner, repo, branch, kind, name, entitlement } = target(context, grant);
    const path = protectionPath(owner, repo, branch);
    const before = await readProtection(context, owner, repo, branch);
    const lists = before === 'not_found' ? null : listOf(before, entitlement);
    if (!lists || !listed(lists[kind], name)) {
      const why =
        before === 'not_found'
          ? `${branch} of ${owner}/${repo} is not protected`
          : !lists
            ? `${branch} of ${owner}/${repo} has no ${describeList(entitlement)}`
            : `${name} is not on the ${describeList(entitlement)} of ${branch}`;
      return {
        outcome: 'already_absent',
        appliedAt: now(),
        action: `GET ${path}: ${why}; nothing to remove`,
      };
    }
    if (entitlement === 'push') {
      const call = `DELETE ${path}/restrictions/${kind} ${JSON.stringify({ [kind]: [name] })}`;
      const params = { owner, repo, branch };
      // Only whether GitHub accepted the removal matters here, not which actors it lists as left.
      const answer = await runRest(context, call, async () => {
        if (kind === 'users') {
          await context.octokit.request(
            'DELETE /repos/{owner}/{repo}/branches/{branch}/protection/restrictions/users',
            { ...params, users: [name] },
          );
        } else if (kind === 'teams') {
          await context.octokit.request(
            'DELETE /repos/{owner}/{repo}/branches/{branch}/protection/restrictions/teams',
            { ...params, teams: [name] },
          );
        } else {
          await context.octokit.request(
            'DELETE /repos/{owner}/{repo}/branches/{branch}/protection/restrictions/apps',
            { ...params, apps: [name] },
          );
        }
        return 'accepted' as const;
      });
      if (answer === 'not_found') {
        return {
          outcome: 'already_absent',
          appliedAt: now(),
          action: `${call}: branch or repository is gone`,
        };
      }
      return {
        outcome: 'removed',
        appliedAt: now(),
        action: `${call}: removed ${grant.principal} from the push restrictions of ${grant.resource}`,
      };
    }
    const remaining: Lists = {
      users: lists.users,
      teams: lists.teams,
      apps: lists.apps,
      [kind]: lists[kind].filter((item) => item.toLowerCase() !== name.toLowerCase()),
    };
    const call = `PATCH ${path}/required_pull_request_reviews ${JSON.stringify({ bypass_pull_request_allowances: remaining })}`;
    const answer = await runRest(context, call, () =>
      context.octokit.request(
        'PATCH /repos/{owner}/{repo}/branches/{branch}/protection/required_pull_request_reviews',
        {
          owner,
          repo,
          branch,
          bypass_pull_request_allowances: remaining,
        },
      ),
    );
    if (answer === 'not_found') {
      return { outcome: 'already_absent', appliedAt: now(), action: `${call}: branch or repository is gone` };
    }
    return {
      outcome: 'removed',
      appliedAt: now(),
      action: `${call}: removed ${grant.principal} from the pull request review bypass list of ${grant.resource}; the other entries are kept`,
    };
  },

  /**
   * GET the protection again: present while the actor is on the list. A user is also still on it
   * through any listed team they are an active member of, and each such team is reported.
   * A `push` grant is about the restriction list: with restrictions removed altogether, anyone
   * with write may push, which is reviewed as repository access, not here.
   */
  async check(context, grant): Promise<CheckResult> {
    if (grant.principalType === 'role') {
      const { owner, repo, branch } = adminTarget(context, grant);
      const protection = await readProtection(context, owner, repo, branch);
      const checkedAt = now();
      return protection !== 'not_found' && !protection.enforceAdmins
        ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission: 'bypass_protection' }] }
        : { status: 'absent', checkedAt };
    }
    const { owner, repo, branch, kind, name, entitlement } = target(context, grant);
    const protection = await readProtection(context, owner, repo, branch);
    const lists = protection === 'not_found' ? null : listOf(protection, entitlement);
    const paths: AccessPath[] = [];
    if (lists && listed(lists[kind], name)) paths.push({ via: 'direct', permission: entitlement });
    if (lists && kind === 'users') {
      for (const slug of lists.teams) {
        const org = context.organization;
        const call = `GET /orgs/${org}/teams/${slug}/memberships/${name}`;
        const membership = await runRest(context, call, () =>
          context.octokit.request('GET /orgs/{org}/teams/{team_slug}/memberships/{username}', {
            org,
            team_slug: slug,
            username: name,
          }),
        );
        if (membership !== 'not_found' && membership.data.state === 'active') {
          paths.push({ via: `team:${org}/${slug}`, permission: entitlement });
        }
      }
    }
    const checkedAt = now();
    return paths.length > 0 ? { status: 'present', checkedAt, paths } : { status: 'absent', checkedAt };
  },
};
