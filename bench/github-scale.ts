/**
 * What a GitHub snapshot costs for a large organisation with the common base permission `read`:
 * requests and GraphQL rate-limit points (GitHub's documented formula, computed by the sandbox
 * from each parsed query), against a REST walk of the same organisation (repositories →
 * collaborators → teams → members and repositories) counted by GitHub's paging arithmetic on the
 * same sandbox state, and against the snapshot's former query shape (collaborators with
 * affiliation ALL), measured on a smaller organisation and extrapolated by its formula. Wall time
 * with 150 ms of GitHub latency per request is computed, per page and per shard, as requests ×
 * 150 ms plus the time measured on loopback (which also includes the in-process sandbox: an
 * upper bound on the connector's own CPU), rather than slept.
 *
 * Run alone: `npx tsx bench/github-scale.ts`.
 */
import '../lib/local/node20';
import { performance } from 'node:perf_hooks';
import { isSnapshotCheckpoint } from '../functions/connectors/connector';
import { createGitHubConnector } from '../functions/connectors/github/index';
import { graphQLPoints } from '../sandbox/github/graphql-cost';
import { graphql } from '../sandbox/github/graphql-js';
import { startGitHubSandbox } from '../sandbox/github/server';
import type { GitHubState, OrganizationInput } from '../sandbox/github/state';
import { createState, usersWithAccess } from '../sandbox/github/state';

const TOKEN = 'ghs_benchGitHubScaleToken000000';
const LATENCY_MS = 150;
const LAMBDA_MS = 900_000;
const POINTS_PER_HOUR = 5_000;
const MEMBERS = 3_000;
const TEAMS = 300;
/** Repositories per shard in the wall-time table: ten pages of 100 between checkpoints. */
const SHARD_REPOSITORIES = 1_000;

const pad = (value: number, width = 5) => String(value).padStart(width, '0');

/**
 * A generated organisation: 3,000 members (10 owners), base `read`; 300 teams of about 13 members
 * (every member in one team, every third in a second; the last 30 teams nested under the first
 * 30); every repository given to one team (write) and every fifth to a second (read); every tenth
 * repository has a member as direct admin and every twentieth an outside collaborator; every
 * fiftieth carries a CI/CD surface (a write deploy key, a production environment with an approver
 * who may not approve their own deployments and a secret, and default-branch protection).
 */
export function scaleOrganization(
  repositoryCount: number,
  members = MEMBERS,
  teamCount = TEAMS,
): OrganizationInput {
  const logins = Array.from({ length: members }, (_, index) => `user-${pad(index)}`);
  const teamMembers = Array.from({ length: teamCount }, () => [] as string[]);
  logins.forEach((login, index) => {
    teamMembers[index % teamCount]?.push(login);
    if (index % 3 === 0) teamMembers[(index * 7 + 1) % teamCount]?.push(login);
  });
  const teamRepositories = Array.from({ length: teamCount }, () => ({}) as Record<string, 'read' | 'write'>);
  const repositories = Array.from({ length: repositoryCount }, (_, index) => {
    const name = `repo-${pad(index)}`;
    const primary = teamRepositories[index % teamCount];
    if (primary) primary[name] = 'write';
    if (index % 5 === 0) {
      const second = teamRepositories[(index * 13 + 7) % teamCount];
      if (second && !second[name]) second[name] = 'read';
    }
    const collaborators: Record<string, 'read' | 'admin'> = {};
    if (index % 10 === 0) collaborators[logins[(index * 31) % members] ?? 'user-00000'] = 'admin';
    if (index % 20 === 0) collaborators[`outside-${pad(index % 500, 3)}`] = 'read';
    const approver = logins[(index * 17) % members] ?? 'user-00000';
    const cicd =
      index % 50 === 0
        ? {
            deployKeys: [
              { title: `deploy-${pad(index)}`, readOnly: false, createdAt: '2026-01-01T00:00:00Z' },
            ],
            environments: [
              {
                name: 'production',
                reviewers: { users: [approver] },
                preventSelfReview: true,
                secrets: ['DEPLOY_TOKEN'],
              },
            ],
            branchProtection: [{ branch: 'main', requiredApprovals: 1 }],
          }
        : {};
    return { name, private: true, collaborators, ...cicd };
  });
  return {
    login: 'scaleco',
    basePermission: 'read',
    members: logins.map((login, index) => ({
      login,
      role: index < 10 ? ('owner' as const) : ('member' as const),
    })),
    teams: teamMembers.map((membersOfTeam, index) => ({
      slug: `team-${pad(index, 3)}`,
      maintainers: membersOfTeam.slice(0, 1),
      members: membersOfTeam.slice(1),
      repositories: teamRepositories[index] ?? {},
      ...(index >= teamCount - 30 ? { parent: `team-${pad(index - (teamCount - 30), 3)}` } : {}),
    })),
    repositories,
  };
}

/**
 * The REST walk of the same organisation, by GitHub's paging (100 a page): the repositories, each
 * one's collaborators (affiliation all: everyone with access, members through the base permission
 * included), the teams, and each team's members and repositories.
 */
function restWalk(state: GitHubState): number {
  const pages = (count: number) => Math.max(1, Math.ceil(count / 100));
  let calls = pages(state.repositories.size) + pages(state.teams.size);
  for (const repository of state.repositories.values())
    calls += pages(usersWithAccess(state, repository).length);
  for (const team of state.teams.values()) calls += pages(team.members.size) + pages(team.repositories.size);
  return calls;
}

/** The fewest GraphQL pages that list members, teams and repositories at 100 a page. */
const minimalPages = (repositories: number) =>
  Math.ceil(MEMBERS / 100) + Math.ceil(TEAMS / 100) + Math.ceil(repositories / 100);

/** The former repository query (affiliation ALL, 50 repositories a page) and its follow-up. */
const FORMER_REPOSITORIES = `
query OrganizationRepositories($org: String!, $after: String) {
  organization(login: $org) {
    repositories(first: 50, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        name
        branchProtectionRules(first: 1) { totalCount }
        rulesets(first: 1, includeParents: false) { totalCount }
        environments(first: 1) { totalCount }
        deployKeys(first: 1) { totalCount }
        collaborators(first: 100, affiliation: ALL) { totalCount pageInfo { hasNextPage endCursor } edges { permission node { login } permissionSources { permission roleName source { __typename } } } }
      }
    }
  }
}`;
const FORMER_COLLABORATORS = `
query RepositoryCollaborators($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    collaborators(first: 100, after: $after, affiliation: ALL) { pageInfo { hasNextPage endCursor } edges { permission node { login } permissionSources { permission roleName source { __typename } } } }
  }
}`;

interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

/**
 * The former repository pass run against the sandbox (only its queries: members and teams cost
 * the same then and now), and what GitHub's formula says it costs for `repositories`: ⌈R/50⌉
 * pages of 3 points, plus a 1-point follow-up per further 100 people with access per repository.
 */
async function formerRepositoryPass(
  organization: OrganizationInput,
): Promise<{ requests: number; points: number; formula: number }> {
  const sandbox = await startGitHubSandbox(organization, {
    token: TOKEN,
    checkOpenApi: false,
    rateLimitPerHour: 1e9,
  });
  try {
    const post = async (query: string, variables: Record<string, unknown>) => {
      const response = await fetch(`${sandbox.url}/graphql`, {
        method: 'POST',
        headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
      return ((await response.json()) as { data: Record<string, unknown> }).data;
    };
    type Nodes = { name: string; collaborators: { pageInfo: PageInfo } };
    let after: string | null = null;
    for (;;) {
      const data = (await post(FORMER_REPOSITORIES, { org: organization.login, after })) as {
        organization: { repositories: { pageInfo: PageInfo; nodes: Nodes[] } };
      };
      const page = data.organization.repositories;
      for (const node of page.nodes) {
        let cursor = node.collaborators.pageInfo;
        while (cursor.hasNextPage) {
          const more = (await post(FORMER_COLLABORATORS, {
            owner: organization.login,
            name: node.name,
            after: cursor.endCursor,
          })) as { repository: { collaborators: { pageInfo: PageInfo } } };
          cursor = more.repository.collaborators.pageInfo;
        }
      }
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    const graphQL = sandbox.requests.filter((request) => request.path === '/graphql');
    const formula = formerFormula(sandbox.state);
    return {
      requests: graphQL.length,
      points: graphQL.reduce((sum, request) => sum + request.points, 0),
      formula,
    };
  } finally {
    await sandbox.close();
  }
}

function formerFormula(state: GitHubState): number {
  const pagePoints = graphQLPoints(graphql.parse(FORMER_REPOSITORIES), { after: null });
  let points = Math.ceil(state.repositories.size / 50) * pagePoints;
  for (const repository of state.repositories.values()) {
    points += Math.max(0, Math.ceil(usersWithAccess(state, repository).length / 100) - 1);
  }
  return points;
}

interface ScaleResult {
  repositories: number;
  grants: number;
  graphQLRequests: number;
  graphQLPoints: number;
  coreRequests: number;
  restWalk: number;
  minimalPages: number;
  pages: number;
  maxPageMs: number;
  shards: number;
  maxShardMs: number;
  localMs: number;
}

async function measure(repositoryCount: number): Promise<ScaleResult> {
  const organization = scaleOrganization(repositoryCount);
  const sandbox = await startGitHubSandbox(organization, {
    token: TOKEN,
    checkOpenApi: false,
    // Counted past GitHub's 5,000 so the figures are exact (the sandbox never refuses either way).
    rateLimitPerHour: 1e9,
  });
  try {
    const connector = createGitHubConnector({
      organization: organization.login,
      token: TOKEN,
      baseUrl: sandbox.url,
      throttle: { fast: true },
      warn: () => {},
    });
    const resumable = connector.resumableSnapshot;
    if (!resumable) throw new Error('the GitHub connector has no resumableSnapshot');
    let grants = 0;
    // One interval per checkpoint: its requests and the time it took here.
    const intervals: Array<{ requests: number; ms: number }> = [];
    let requestsBefore = 0;
    let started = performance.now();
    const begun = started;
    for await (const item of resumable()) {
      if (!isSnapshotCheckpoint(item)) {
        grants++;
        continue;
      }
      const now = performance.now();
      intervals.push({ requests: sandbox.requests.length - requestsBefore, ms: now - started });
      requestsBefore = sandbox.requests.length;
      started = now;
    }
    intervals.push({ requests: sandbox.requests.length - requestsBefore, ms: performance.now() - started });
    const localMs = performance.now() - begun;
    const simulated = (interval: { requests: number; ms: number }) =>
      interval.requests * LATENCY_MS + interval.ms;
    // A shard: the pages of SHARD_REPOSITORIES repositories between two checkpoints (the first also
    // reads the people; a resumed one reads them again, which is counted in).
    const pagesPerShard = SHARD_REPOSITORIES / 100;
    const pageIntervals = intervals.slice(0, Math.ceil(repositoryCount / 100));
    const shards: number[] = [];
    for (let start = 0; start < pageIntervals.length; start += pagesPerShard) {
      const slice = pageIntervals.slice(start, start + pagesPerShard);
      const reread = start === 0 ? 0 : (peopleRequestsOf(pageIntervals) ?? 0);
      shards.push(slice.reduce((sum, interval) => sum + simulated(interval), 0) + reread * LATENCY_MS);
    }
    const graphQL = sandbox.requests.filter((request) => request.path === '/graphql');
    return {
      repositories: repositoryCount,
      grants,
      graphQLRequests: graphQL.length,
      graphQLPoints: graphQL.reduce((sum, request) => sum + request.points, 0),
      coreRequests: sandbox.requests.length - graphQL.length,
      restWalk: restWalk(sandbox.state),
      minimalPages: minimalPages(repositoryCount),
      pages: pageIntervals.length,
      maxPageMs: Math.max(...pageIntervals.slice(1).map(simulated)),
      shards: shards.length,
      maxShardMs: Math.max(...shards),
      localMs,
    };
  } finally {
    await sandbox.close();
  }
}

/**
 * What a resumed invocation reads again before its first page: the people (members and their
 * 2FA filter, the base permission, teams) and the org rulesets. Estimated from the first
 * interval, which holds them and the first page, less a typical later page.
 */
function peopleRequestsOf(pageIntervals: Array<{ requests: number }>): number | undefined {
  const first = pageIntervals[0]?.requests;
  const later = pageIntervals[1]?.requests;
  return first !== undefined && later !== undefined ? Math.max(0, first - later) : undefined;
}

const number = (value: number) => value.toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function githubScaleBenchmark(
  sizes: readonly number[] = [1_000, 5_000, 20_000],
): Promise<string> {
  // Warm-up (GraphQL schema, JIT): not reported.
  await measure(100);
  const results: ScaleResult[] = [];
  for (const size of sizes) results.push(await measure(size));
  // The former shape, run on 100 repositories of the same org (3,000 members), checked against its formula.
  const former = await formerRepositoryPass(scaleOrganization(100));
  const formerAt = (repositories: number) => formerFormula(createState(scaleOrganization(repositories)));
  const former1k = formerAt(1_000);

  const lines: string[] = [];
  lines.push(
    `Generated organisations with ${number(MEMBERS)} members, ${TEAMS} teams and base permission \`read\`; GraphQL points by GitHub's formula (the sandbox computes each call's cost from the parsed query); the REST walk counted on the same sandbox state by GitHub's paging. Wall time: requests × ${LATENCY_MS} ms plus the time measured on loopback (connector and in-process sandbox), per page of 100 repositories and per shard of ${number(SHARD_REPOSITORIES)} repositories (a resumed shard reads the people again, counted in).`,
    '',
    '| repositories | grants | GraphQL requests | GraphQL points | minimal pages | requests ÷ minimal | REST (core) requests | REST per repository | REST walk | walk ÷ snapshot requests | share of 5,000 points/hour | slowest page | slowest shard | shards |',
    '| -----------: | -----: | ---------------: | -------------: | ------------: | -----------------: | -------------------: | ------------------: | --------: | -----------------------: | -------------------------: | -----------: | ------------: | -----: |',
  );
  for (const result of results) {
    const requests = result.graphQLRequests + result.coreRequests;
    lines.push(
      `| ${number(result.repositories)} | ${number(result.grants)} | ${number(result.graphQLRequests)} | ${number(result.graphQLPoints)} | ${result.minimalPages} | ${(result.graphQLRequests / result.minimalPages).toFixed(2)}× | ${number(result.coreRequests)} | ${(result.coreRequests / result.repositories).toFixed(2)} | ${number(result.restWalk)} | ${(result.restWalk / requests).toFixed(1)}× | ${((100 * result.graphQLPoints) / POINTS_PER_HOUR).toFixed(1)}% | ${seconds(result.maxPageMs)} | ${seconds(result.maxShardMs)} | ${result.shards} |`,
    );
  }
  const at1k = results.find((result) => result.repositories === 1_000);
  lines.push(
    '',
    `The former snapshot (collaborators with affiliation ALL: a row and a page share for every member on every repository), run on 100 repositories of the same organisation: ${number(former.requests)} GraphQL requests, ${number(former.points)} points measured (its formula, ⌈R/50⌉ pages of 3 points plus a follow-up per further 100 people per repository, gives ${number(former.formula)}). By that formula the 1,000-repository organisation costs ${number(former1k)} points${at1k ? `, ${(former1k / at1k.graphQLPoints).toFixed(0)}× the ${number(at1k.graphQLPoints)} points of the snapshot now` : ''}.`,
    `Each shard stays far inside a Lambda's ${LAMBDA_MS / 60_000} minutes: the slowest shard of ${number(SHARD_REPOSITORIES)} repositories takes ${seconds(Math.max(...results.map((result) => result.maxShardMs)))} with ${LATENCY_MS} ms per request. GitHub's REST budget is the other limit: the CI/CD details and repository invitations cost about one REST request per repository (the same as before), 5,000 an hour per token.`,
  );
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((value) => value > 0);
  githubScaleBenchmark(sizes.length > 0 ? sizes : undefined)
    .then((markdown) => console.log(markdown))
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
