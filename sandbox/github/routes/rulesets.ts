import {
  matchesRepositoryPattern,
  organizationRulesetRepositories,
  REPOSITORY_ROLE_ACTOR_IDS,
  rulesetBody,
  rulesetSummaryBody,
  teamBody,
} from '../cicd/bodies-protection';
import { repositoryCicd, type SandboxRuleset } from '../cicd/state';
import {
  DOCS,
  invalidRequest,
  notFound,
  objectBody,
  paged,
  type RestRequest,
  type RestResponse,
  type Route,
  route,
  validationFailed,
} from '../rest-kit';
import { compareKeys, type GitHubState, isOrganization, type SandboxRepository } from '../state';
import { organizationRecord, organizationRepository as repositoryOf } from './lookup';

/*
 * Repository and organisation rulesets: list, read one (with its bypass actors), and update one.
 * A repository's list and reads include the org rulesets that apply to it unless
 * `includes_parents=false`; an org ruleset is only changed through the org endpoint.
 */

const REPO_DOCS = `${DOCS}/repos/rules`;
const ORG_DOCS = `${DOCS}/orgs/rules`;
const TEAMS_DOCS = `${DOCS}/teams/teams#list-teams`;

/** Org rulesets whose repository name patterns take in `repository`. */
function parentRulesets(state: GitHubState, repository: SandboxRepository): SandboxRuleset[] {
  return [...state.cicd.rulesets.values()].filter((ruleset) =>
    organizationRulesetRepositories(ruleset).some((pattern) =>
      matchesRepositoryPattern(pattern, repository.name),
    ),
  );
}

/** GitHub's default for `includes_parents` is true. */
const includesParents = (request: RestRequest) => request.query.get('includes_parents') !== 'false';

function rulesetsVisibleFrom(state: GitHubState, repository: SandboxRepository, request: RestRequest) {
  const own = [...(repositoryCicd(state, repository.name)?.rulesets.values() ?? [])];
  const parents = includesParents(request) ? parentRulesets(state, repository) : [];
  return [...own, ...parents].sort((a, b) => a.id - b.id);
}

/** A bypass actor of a PUT body turned back into the scenario's form, or a reason GitHub would refuse it. */
function actorFromBody(state: GitHubState, value: unknown): SandboxRuleset['bypassActors'][number] | string {
  const body = objectBody(value);
  const type = body?.actor_type;
  const id = body?.actor_id;
  const mode = body?.bypass_mode ?? 'always';
  if (mode !== 'always' && mode !== 'pull_request')
    return `bypass_mode ${JSON.stringify(mode)} is not supported`;
  switch (type) {
    case 'Team': {
      const team = [...state.teams.values()].find((candidate) => candidate.id === id);
      return team ? { type, actor: team.slug, mode } : `no team has id ${JSON.stringify(id)}`;
    }
    case 'Integration': {
      const app = [...state.cicd.apps.values()].find((candidate) => candidate.appId === id);
      return app ? { type, actor: app.slug, mode } : `no installed app has id ${JSON.stringify(id)}`;
    }
    case 'OrganizationAdmin':
      // GitHub ignores the id of an OrganizationAdmin actor.
      return { type, mode };
    case 'DeployKey':
      return mode === 'always'
        ? { type, mode }
        : 'pull_request is not applicable for the DeployKey actor type';
    case 'RepositoryRole': {
      const builtIn = Object.entries(REPOSITORY_ROLE_ACTOR_IDS).find(([, roleId]) => roleId === id)?.[0];
      const custom = state.cicd.customRoles.find((role) => role.id === id)?.name;
      const name = builtIn ?? custom;
      return name ? { type, actor: name, mode } : `no repository role has id ${JSON.stringify(id)}`;
    }
    default:
      return `actor_type ${JSON.stringify(type)} is not supported`;
  }
}

/**
 * PUT: updates what the body carries (name, enforcement, bypass actors, ref and repository name
 * includes) and leaves the rest as it was. Rules are not modelled, so `rules` is accepted and ignored.
 */
function updateRuleset(
  state: GitHubState,
  baseUrl: string,
  ruleset: SandboxRuleset,
  body: unknown,
  documentation: string,
): RestResponse {
  const fields = objectBody(body);
  if (!fields) return invalidRequest('Body must be a JSON object.', documentation);
  const { name, enforcement, bypass_actors: actors, conditions } = fields;
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    return invalidRequest(`For 'properties/name', ${JSON.stringify(name)} is not a string.`, documentation);
  }
  if (
    enforcement !== undefined &&
    enforcement !== 'active' &&
    enforcement !== 'evaluate' &&
    enforcement !== 'disabled'
  ) {
    return invalidRequest(
      `For 'properties/enforcement', ${JSON.stringify(enforcement)} is not a member of ["disabled","active","evaluate"].`,
      documentation,
    );
  }
  let bypassActors = ruleset.bypassActors;
  if (actors !== undefined) {
    if (!Array.isArray(actors)) {
      return invalidRequest(
        `For 'properties/bypass_actors', ${JSON.stringify(actors)} is not an array.`,
        documentation,
      );
    }
    const parsed = actors.map((actor) => actorFromBody(state, actor));
    const problems = parsed.filter((item): item is string => typeof item === 'string');
    if (problems.length > 0)
      return validationFailed(`Validation Failed: ${problems.join('; ')}`, documentation);
    bypassActors = parsed.filter((item): item is Exclude<typeof item, string> => typeof item !== 'string');
  }
  const refInclude = objectBody(objectBody(conditions)?.ref_name)?.include;
  const repositoryInclude = objectBody(objectBody(conditions)?.repository_name)?.include;
  const strings = (value: unknown) => Array.isArray(value) && value.every((item) => typeof item === 'string');
  if (
    (refInclude !== undefined && !strings(refInclude)) ||
    (repositoryInclude !== undefined && !strings(repositoryInclude))
  ) {
    return invalidRequest(
      `For 'properties/conditions', ${JSON.stringify(conditions)} is not valid.`,
      documentation,
    );
  }
  if (typeof name === 'string') ruleset.name = name;
  if (enforcement !== undefined) ruleset.enforcement = enforcement;
  ruleset.bypassActors = bypassActors;
  if (refInclude !== undefined) ruleset.include = refInclude as string[];
  if (repositoryInclude !== undefined && ruleset.sourceType === 'Organization') {
    ruleset.repositories = repositoryInclude as string[];
  }
  ruleset.updatedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { status: 200, body: rulesetBody(baseUrl, state, ruleset) };
}

const rulesetId = (value: string) => (/^\d+$/.test(value) ? Number(value) : Number.NaN);

export const rulesetRoutes: Route[] = [
  route('GET', '/repos/{owner}/{repo}/rulesets', (state, baseUrl, { owner, repo }, request) => {
    const repository = repositoryOf(state, owner, repo);
    if (!repository) return notFound(`${REPO_DOCS}#get-all-repository-rulesets`);
    return paged(rulesetsVisibleFrom(state, repository, request), request, baseUrl, (items) =>
      items.map((ruleset) => rulesetSummaryBody(baseUrl, state, ruleset)),
    );
  }),
  route('GET', '/repos/{owner}/{repo}/rulesets/{ruleset_id}', (state, baseUrl, params, request) => {
    const repository = repositoryOf(state, params.owner, params.repo);
    const id = rulesetId(params.ruleset_id);
    const ruleset = repository
      ? rulesetsVisibleFrom(state, repository, request).find((candidate) => candidate.id === id)
      : undefined;
    if (!ruleset) return notFound(`${REPO_DOCS}#get-a-repository-ruleset`);
    return { status: 200, body: rulesetBody(baseUrl, state, ruleset) };
  }),
  route('PUT', '/repos/{owner}/{repo}/rulesets/{ruleset_id}', (state, baseUrl, params, request) => {
    const repository = repositoryOf(state, params.owner, params.repo);
    // Only the repository's own rulesets: an org ruleset is changed through the org.
    const ruleset = repository
      ? repositoryCicd(state, repository.name)?.rulesets.get(rulesetId(params.ruleset_id))
      : undefined;
    const documentation = `${REPO_DOCS}#update-a-repository-ruleset`;
    if (!ruleset) return notFound(documentation);
    return updateRuleset(state, baseUrl, ruleset, request.body, documentation);
  }),
  route('GET', '/orgs/{org}/rulesets', (state, baseUrl, { org }, request) => {
    if (!isOrganization(state, org)) return notFound(`${ORG_DOCS}#get-all-organization-repository-rulesets`);
    const rulesets = [...state.cicd.rulesets.values()].sort((a, b) => a.id - b.id);
    return paged(rulesets, request, baseUrl, (items) =>
      items.map((ruleset) => rulesetSummaryBody(baseUrl, state, ruleset)),
    );
  }),
  route('GET', '/orgs/{org}/rulesets/{ruleset_id}', (state, baseUrl, params) => {
    const ruleset = organizationRecord(state, params.org, state.cicd.rulesets, rulesetId(params.ruleset_id));
    if (!ruleset) return notFound(`${ORG_DOCS}#get-an-organization-repository-ruleset`);
    return { status: 200, body: rulesetBody(baseUrl, state, ruleset) };
  }),
  route('PUT', '/orgs/{org}/rulesets/{ruleset_id}', (state, baseUrl, params, request) => {
    const ruleset = organizationRecord(state, params.org, state.cicd.rulesets, rulesetId(params.ruleset_id));
    const documentation = `${ORG_DOCS}#update-an-organization-repository-ruleset`;
    if (!ruleset) return notFound(documentation);
    return updateRuleset(state, baseUrl, ruleset, request.body, documentation);
  }),
  /*
   * The organisation's teams, by REST. Rulesets name team bypass actors by numeric id only, so the
   * connector reads this list to put a slug on each. (Kept here because nothing else in the
   * sandbox serves it; it belongs with the team routes if those move to REST.)
   */
  route('GET', '/orgs/{org}/teams', (state, baseUrl, { org }, request) => {
    if (!isOrganization(state, org)) return notFound(TEAMS_DOCS);
    const teams = [...state.teams.values()].sort((a, b) => compareKeys(a.slug, b.slug));
    return paged(teams, request, baseUrl, (items) => items.map((team) => teamBody(baseUrl, state, team)));
  }),
];
