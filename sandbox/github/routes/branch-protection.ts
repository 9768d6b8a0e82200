import { simpleUser } from '../bodies';
import {
  appFor,
  branchProtectionBody,
  integrationBody,
  pullRequestReviewBody,
  teamBody,
  teamFor,
  userFor,
} from '../cicd/bodies-protection';
import { repositoryCicd, type SandboxBranchProtection } from '../cicd/state';
import {
  DOCS,
  invalidRequest,
  objectBody,
  type RestResponse,
  type Route,
  route,
  validationFailed,
} from '../rest-kit';
import { findTeam, findUser, type GitHubState, isOrganization } from '../state';

/*
 * Classic branch protection: read a branch's protection, take users, teams or apps off its push
 * restrictions, and replace the lists of who may bypass its required pull request reviews.
 */

const PROTECTION_DOCS = `${DOCS}/branches/branch-protection#get-branch-protection`;
const RESTRICTIONS_DOCS = `${DOCS}/branches/branch-protection`;
const REVIEWS_DOCS = `${DOCS}/branches/branch-protection#update-pull-request-review-protection`;

/** GitHub's 404 for a branch (or repository) without protection. */
function notProtected(documentation: string): RestResponse {
  return notEnabled('Branch not protected', documentation);
}

function notEnabled(message: string, documentation: string): RestResponse {
  return { status: 404, body: { message, documentation_url: documentation, status: '404' } };
}

type Params = { owner: string; repo: string; branch: string };

/** The repository's name as stored and the branch's protection, or undefined when either is missing. */
function protectionOf(state: GitHubState, params: Params) {
  if (!isOrganization(state, params.owner)) return undefined;
  const repository = state.repositories.get(params.repo.toLowerCase());
  const protection = repository
    ? repositoryCicd(state, repository.name)?.branchProtection.get(params.branch.toLowerCase())
    : undefined;
  return repository && protection ? { repository: repository.name, protection } : undefined;
}

/** A body's `key` when it is a list of strings (what the schemas of these endpoints require). */
function stringList(body: unknown, key: string): string[] | undefined {
  const value = objectBody(body)?.[key];
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

type ActorKind = 'users' | 'teams' | 'apps';

/**
 * DELETE /repos/{owner}/{repo}/branches/{branch}/protection/restrictions/{users|teams|apps}: takes
 * the named actors off the push restrictions and answers with the ones left. Names not on the list
 * are ignored, as GitHub does. Restrictions stay enabled when the lists become empty: then nobody
 * (but admins, unless enforced) may push, which is stricter, never looser.
 */
function removeRestriction(kind: ActorKind): Route {
  const template = `/repos/{owner}/{repo}/branches/{branch}/protection/restrictions/${kind}` as const;
  return route('DELETE', template, (state, baseUrl, params, request) => {
    const names = stringList(request.body, kind);
    if (!names) {
      return invalidRequest(`"${kind}" wasn't supplied as an array of strings.`, RESTRICTIONS_DOCS);
    }
    const found = protectionOf(state, params);
    // GitHub answers 404 with these messages, though its description documents only 200 and 422.
    if (!found) return notProtected(RESTRICTIONS_DOCS);
    const allowances = found.protection.pushAllowances;
    if (!allowances) return notEnabled('Push restrictions not enabled', RESTRICTIONS_DOCS);
    allowances[kind] = allowances[kind].filter((name) => !names.some((removed) => same(removed, name)));
    const left = allowances[kind];
    const body =
      kind === 'users'
        ? left.map((login) => simpleUser(baseUrl, userFor(state, login)))
        : kind === 'teams'
          ? left.map((slug) => teamBody(baseUrl, state, teamFor(state, slug)))
          : left.map((slug) => integrationBody(baseUrl, state, appFor(state, slug)));
    return { status: 200, body };
  });
}

/** Names in a PATCH that GitHub would refuse: users it does not know, teams and apps the org lacks. */
function unknownActors(state: GitHubState, lists: Record<ActorKind, string[]>): string[] {
  const installed = (slug: string) => [...state.cicd.apps.values()].some((app) => same(app.slug, slug));
  return [
    ...lists.users.filter((login) => !findUser(state, login)),
    ...lists.teams.filter((slug) => !findTeam(state, slug)),
    ...lists.apps.filter((slug) => !installed(slug)),
  ];
}

function updateReviews(
  state: GitHubState,
  baseUrl: string,
  found: { repository: string; protection: SandboxBranchProtection },
  body: Record<string, unknown>,
): RestResponse {
  const count = body.required_approving_review_count;
  if (
    count !== undefined &&
    (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > 6)
  ) {
    return invalidRequest(
      `For 'properties/required_approving_review_count', ${JSON.stringify(count)} is not an integer between 0 and 6.`,
      REVIEWS_DOCS,
    );
  }
  const bypass = body.bypass_pull_request_allowances;
  if (bypass !== undefined) {
    const lists = {
      users: stringList(bypass, 'users') ?? [],
      teams: stringList(bypass, 'teams') ?? [],
      apps: stringList(bypass, 'apps') ?? [],
    };
    const bad = (['users', 'teams', 'apps'] as const).filter((key) => {
      const value = objectBody(bypass)?.[key];
      return value !== undefined && stringList(bypass, key) === undefined;
    });
    if (!objectBody(bypass) || bad.length > 0) {
      return invalidRequest(
        `For 'properties/bypass_pull_request_allowances', ${JSON.stringify(bypass)} is not an object of string lists.`,
        REVIEWS_DOCS,
      );
    }
    const unknown = unknownActors(state, lists);
    if (unknown.length > 0) {
      return validationFailed(
        `Could not resolve to a user, team or app: ${unknown.join(', ')}`,
        REVIEWS_DOCS,
      );
    }
    // GitHub replaces the lists with what was sent; a list left out of the object is emptied.
    found.protection.bypassPullRequestAllowances = lists;
  }
  if (typeof count === 'number') found.protection.requiredApprovals = count;
  return { status: 200, body: pullRequestReviewBody(baseUrl, state, found.repository, found.protection) };
}

const ADMINS_DOCS = `${DOCS}/branches/branch-protection#set-admin-branch-protection`;

export const branchProtectionRoutes: Route[] = [
  // Holds admins to the branch's protection too (GitHub: "Adding admin enforcement requires admin
  // or owner permissions to the repository and branch protection to be enabled").
  route(
    'POST',
    '/repos/{owner}/{repo}/branches/{branch}/protection/enforce_admins',
    (state, baseUrl, params) => {
      const found = protectionOf(state, params);
      if (!found) return notProtected(ADMINS_DOCS);
      found.protection.enforceAdmins = true;
      return {
        status: 200,
        body: {
          url: `${baseUrl}/repos/${state.login}/${found.repository}/branches/${params.branch}/protection/enforce_admins`,
          enabled: true,
        },
      };
    },
  ),
  route('GET', '/repos/{owner}/{repo}/branches/{branch}/protection', (state, baseUrl, params) => {
    const found = protectionOf(state, params);
    if (!found) return notProtected(PROTECTION_DOCS);
    return { status: 200, body: branchProtectionBody(baseUrl, state, found.repository, found.protection) };
  }),
  removeRestriction('users'),
  removeRestriction('teams'),
  removeRestriction('apps'),
  route(
    'PATCH',
    '/repos/{owner}/{repo}/branches/{branch}/protection/required_pull_request_reviews',
    (state, baseUrl, params, request) => {
      const body = objectBody(request.body);
      if (!body) return invalidRequest('Body must be a JSON object.', REVIEWS_DOCS);
      const found = protectionOf(state, params);
      // As for the restrictions, GitHub's 404s here are not in its description.
      if (!found) return notProtected(REVIEWS_DOCS);
      if (found.protection.requiredApprovals < 1) {
        return notEnabled('Required pull request reviews not enabled', REVIEWS_DOCS);
      }
      return updateReviews(state, baseUrl, found, body);
    },
  ),
];
