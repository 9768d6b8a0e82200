import { branchPolicyBody, environmentBody } from '../cicd/bodies-deploy';
import type { SandboxEnvironment } from '../cicd/state';
import { DOCS, notFound, objectBody, pagedWithCount, type Route, route, validationFailed } from '../rest-kit';
import type { GitHubState } from '../state';
import { repositoryWithRecords as repositoryOf } from './lookup';

const LIST_DOCS = `${DOCS}/deployments/environments#list-environments`;
const GET_DOCS = `${DOCS}/deployments/environments#get-an-environment`;
const PUT_DOCS = `${DOCS}/deployments/environments#create-or-update-an-environment`;
const POLICIES_DOCS = `${DOCS}/deployments/branch-policies#list-deployment-branch-policies`;

/** GitHub's limits on an environment's protection: at most six reviewers, at most 30 days of wait. */
const MAX_REVIEWERS = 6;
const MAX_WAIT_TIMER = 43_200;

type Settings = Pick<
  SandboxEnvironment,
  'reviewers' | 'preventSelfReview' | 'waitTimer' | 'deploymentBranches'
>;

/**
 * The settings a PUT asks for, or GitHub's 422 wording for what is wrong with them. The PUT
 * replaces every setting: a field left out goes back to its default (no wait, self-review
 * allowed, no reviewers, any branch), so a client that means to keep a setting has to send it
 * and a client that forgets one is caught. Custom branch patterns are separate resources and
 * survive a PUT that keeps `custom_branch_policies` on.
 */
function requestedSettings(
  state: GitHubState,
  body: unknown,
  existing: SandboxEnvironment | undefined,
): Settings | string {
  const fields = body === undefined || body === null ? {} : objectBody(body);
  if (!fields) return 'the body must be an object';
  const waitTimer = fields.wait_timer ?? 0;
  if (
    typeof waitTimer !== 'number' ||
    !Number.isInteger(waitTimer) ||
    waitTimer < 0 ||
    waitTimer > MAX_WAIT_TIMER
  ) {
    return `wait_timer must be an integer between 0 and ${MAX_WAIT_TIMER}`;
  }
  const preventSelfReview = fields.prevent_self_review ?? false;
  if (typeof preventSelfReview !== 'boolean') return 'prevent_self_review must be a boolean';
  const requested = fields.reviewers ?? [];
  if (!Array.isArray(requested)) return 'reviewers must be an array';
  if (requested.length > MAX_REVIEWERS) return `an environment can have at most ${MAX_REVIEWERS} reviewers`;
  const reviewers: Settings['reviewers'] = { users: [], teams: [] };
  for (const entry of requested) {
    const reviewer = objectBody(entry);
    const id = reviewer?.id;
    if (reviewer?.type === 'User') {
      const user = [...state.users.values()].find((candidate) => candidate.id === id);
      if (!user) return `reviewer ${JSON.stringify(id)} is not a user`;
      reviewers.users.push(user.login);
    } else if (reviewer?.type === 'Team') {
      const team = [...state.teams.values()].find((candidate) => candidate.id === id);
      if (!team) return `reviewer ${JSON.stringify(id)} is not a team of ${state.login}`;
      reviewers.teams.push(team.slug);
    } else {
      return `reviewer ${JSON.stringify(entry)} must have type User or Team and a numeric id`;
    }
  }
  const policy = fields.deployment_branch_policy ?? null;
  let deploymentBranches: Settings['deploymentBranches'];
  if (policy !== null) {
    const settings = objectBody(policy);
    const protectedBranches = settings?.protected_branches;
    const custom = settings?.custom_branch_policies;
    if (
      typeof protectedBranches !== 'boolean' ||
      typeof custom !== 'boolean' ||
      protectedBranches === custom
    ) {
      return 'deployment_branch_policy needs protected_branches and custom_branch_policies, exactly one of them true';
    }
    const kept = Array.isArray(existing?.deploymentBranches) ? existing.deploymentBranches : [];
    deploymentBranches = protectedBranches ? 'protected' : kept;
  }
  return { reviewers, preventSelfReview, waitTimer, deploymentBranches };
}

/** Deployment environments of a repository: list, read, create-or-update, and their branch policies. */
export const environmentRoutes: Route[] = [
  route('GET', '/repos/{owner}/{repo}/environments', (state, baseUrl, { owner, repo }, request) => {
    const found = repositoryOf(state, owner, repo);
    if (!found) return notFound(LIST_DOCS);
    const all = [...found.records.environments.values()].sort((a, b) => a.name.localeCompare(b.name));
    return pagedWithCount(all, 'environments', request, baseUrl, (environment) =>
      environmentBody(baseUrl, state, found.repository, environment),
    );
  }),
  route('GET', '/repos/{owner}/{repo}/environments/{environment_name}', (state, baseUrl, params) => {
    const found = repositoryOf(state, params.owner, params.repo);
    const environment = found?.records.environments.get(params.environment_name.toLowerCase());
    if (!found || !environment) return notFound(GET_DOCS);
    return { status: 200, body: environmentBody(baseUrl, state, found.repository, environment) };
  }),
  route('PUT', '/repos/{owner}/{repo}/environments/{environment_name}', (state, baseUrl, params, request) => {
    const found = repositoryOf(state, params.owner, params.repo);
    if (!found) return notFound(PUT_DOCS);
    const key = params.environment_name.toLowerCase();
    const existing = found.records.environments.get(key);
    const settings = requestedSettings(state, request.body, existing);
    if (typeof settings === 'string') return validationFailed(`Validation Failed: ${settings}`, PUT_DOCS);
    const environment: SandboxEnvironment = existing ?? {
      name: params.environment_name,
      reviewers: { users: [], teams: [] },
      preventSelfReview: false,
      waitTimer: 0,
      secrets: [],
      id: state.nextId(),
      createdAt: new Date().toISOString(),
    };
    environment.reviewers = settings.reviewers;
    environment.preventSelfReview = settings.preventSelfReview;
    environment.waitTimer = settings.waitTimer;
    if (settings.deploymentBranches === undefined) delete environment.deploymentBranches;
    else environment.deploymentBranches = settings.deploymentBranches;
    found.records.environments.set(key, environment);
    return { status: 200, body: environmentBody(baseUrl, state, found.repository, environment) };
  }),
  route(
    'GET',
    '/repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies',
    (state, baseUrl, params, request) => {
      const found = repositoryOf(state, params.owner, params.repo);
      const environment = found?.records.environments.get(params.environment_name.toLowerCase());
      if (!found || !environment) return notFound(POLICIES_DOCS);
      // Only custom policies are listed; `protected` and "any branch" have none.
      const patterns = Array.isArray(environment.deploymentBranches) ? environment.deploymentBranches : [];
      const policies = patterns.map((pattern, index) => branchPolicyBody(environment, pattern, index));
      return pagedWithCount(policies, 'branch_policies', request, baseUrl);
    },
  ),
];
