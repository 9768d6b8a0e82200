import { ConnectorError } from '../../core/errors';
import { describeVia, type Grant, type GrantKind, organizationOfResource } from '../../core/grant';
import {
  type CheckResult,
  type Connector,
  isSnapshotCheckpoint,
  type RevokeResult,
  type SnapshotCheckpoint,
} from '../connector';
import type { GitHubAccessKind, SnapshotIndex } from './access-kind';
import { actionsSecrets } from './actions-secrets';
import { appInstallations } from './apps';
import { branchProtection } from './branch-protection';
import { createGitHubClient, type GitHubClient, type ThrottleTuning } from './client';
import type { GitHubContext } from './context';
import { deployKeys } from './deploy-keys';
import { downgradeGitHubGrant } from './downgrade';
import { environments } from './environments';
import { invitations } from './invitations';
import {
  basePermissionGrants,
  checkBasePermission,
  readBasePermission,
  revokeBasePermission,
} from './organization-base';
import {
  checkOrganizationMembership,
  revokeOrganizationMembership,
  snapshotOrganizationMembers,
} from './organization-members';
import { gitHubOwnIdentities } from './own-identity';
import { personalAccessTokens } from './personal-access-tokens';
import {
  checkRepositoryAccess,
  nextCursor,
  readRepositoryPage,
  repositoryInfoOf,
  repositoryPageGrants,
  revokeDirectRepositoryAccess,
  snapshotRepositoryAccess,
} from './repository-access';
import {
  ActorNames,
  noteOrganizationRulesets,
  type OrganizationRuleset,
  organizationRulesetGrants,
  type RulesetTally,
  readOrganizationRulesets,
  rulesets,
} from './rulesets';
import { runnerGroups } from './runner-groups';
import { type OrganizationFinding, SeparationOfDuties } from './separation-of-duties';
import { checkTeamMembership, revokeTeamMembership } from './team-members';
import { checkTeamRepository, revokeTeamRepository } from './team-repositories';
import { snapshotTeams } from './teams';
import { trackUsage } from './usage';

export interface GitHubConnectorOptions {
  /** The organisation login, e.g. `acme`. */
  organization: string;
  token: string;
  /** `https://api.github.com` (GraphQL is then `${baseUrl}/graphql`), or the sandbox URL. */
  baseUrl: string;
  throttle?: ThrottleTuning;
  warn?: (message: string) => void;
  /** An already configured client (tests, or a host that shares one); `token` is still used to scrub messages. */
  client?: GitHubClient;
  /** Sign in as a GitHub App installation instead of with `token` (then pass `token: ''`). */
  app?: { appId: string; installationId: number; privateKey: string };
  /** Repositories per snapshot page, between checkpoints (default 100, GitHub's maximum). */
  repositoriesPerPage?: number;
}

const organizationMemberships: GitHubAccessKind = {
  grantKinds: ['organization_membership'],
  snapshot: (context, index) => snapshotOrganizationMembers(context, index.members),
  revoke: revokeOrganizationMembership,
  check: checkOrganizationMembership,
};

const basePermission: GitHubAccessKind = {
  grantKinds: ['organization_base_permission'],
  async *snapshot(context, index) {
    index.basePermission = await readBasePermission(context);
    yield* basePermissionGrants(context.organization, index.basePermission, index.members.size);
  },
  revoke: revokeBasePermission,
  check: checkBasePermission,
};

const teamAccess: GitHubAccessKind = {
  grantKinds: ['team_membership', 'team_repository'],
  snapshot: (context, index) => snapshotTeams(context, index.teams),
  revoke: (context, grant) =>
    grant.grantKind === 'team_membership'
      ? revokeTeamMembership(context, grant)
      : revokeTeamRepository(context, grant),
  check: (context, grant) =>
    grant.grantKind === 'team_membership'
      ? checkTeamMembership(context, grant)
      : checkTeamRepository(context, grant),
};

const repositoryAccess: GitHubAccessKind = {
  grantKinds: ['user_repository'],
  snapshot: (context, index) => snapshotRepositoryAccess(context, index),
  revoke: revokeDirectRepositoryAccess,
  check: checkRepositoryAccess,
};

/** Every kind the connector knows: revoke and check dispatch on the grant's kind through these. */
const ACCESS_KINDS: readonly GitHubAccessKind[] = [
  organizationMemberships,
  basePermission,
  teamAccess,
  repositoryAccess,
  invitations,
  deployKeys,
  environments,
  branchProtection,
  rulesets,
  actionsSecrets,
  runnerGroups,
  appInstallations,
  personalAccessTokens,
];

/**
 * The snapshot, in order. People first (members, the base permission, teams), which every later
 * pass links to and which a resumed snapshot reads again; then the repositories a page of 100 at a
 * time, each page with its users' access and every per-repository CI/CD pass (environment
 * reviewers and bypass lists are flagged for separation of duties page by page); then what
 * belongs to the organisation; the org rulesets' bypass grants last, flagged by what every page
 * found. A checkpoint follows each page and each organisation pass.
 */
const PEOPLE: readonly GitHubAccessKind[] = [organizationMemberships, basePermission, teamAccess];
const PER_REPOSITORY: readonly GitHubAccessKind[] = [
  invitations,
  deployKeys,
  environments,
  branchProtection,
  rulesets,
  actionsSecrets,
];
const ORGANIZATION: readonly GitHubAccessKind[] = [
  invitations,
  actionsSecrets,
  runnerGroups,
  appInstallations,
  personalAccessTokens,
];

/** Where a resumed snapshot starts, and what earlier invocations found that later grants depend on. */
interface SnapshotCursor {
  v: 1;
  /** `repositories`: the page after `after` (null: the first); `organization`: ORGANIZATION[pass]. */
  stage: 'repositories' | 'organization';
  after?: string | null;
  pass?: number;
  /** Org ruleset id → [repositories it applies to, targets a default branch (1/0)]. */
  rulesets: Array<[number, number, number]>;
  /** Org-wide grant id → [count, notes…] of its separation-of-duties findings so far. */
  findings: Array<[string, number, ...string[]]>;
}

function encodeCursor(
  position: Pick<SnapshotCursor, 'stage' | 'after' | 'pass'>,
  tally: ReadonlyMap<number, RulesetTally>,
  findings: ReadonlyMap<string, OrganizationFinding>,
): string {
  const cursor: SnapshotCursor = {
    v: 1,
    ...position,
    rulesets: [...tally].map(([id, counted]) => [id, counted.applies, counted.targetsDefault ? 1 : 0]),
    findings: [...findings].map(([id, finding]) => [id, finding.count, ...finding.notes]),
  };
  return JSON.stringify(cursor);
}

function decodeCursor(text: string): SnapshotCursor {
  let cursor: Partial<SnapshotCursor>;
  try {
    cursor = JSON.parse(text) as Partial<SnapshotCursor>;
  } catch (error) {
    throw new ConnectorError('the GitHub snapshot cursor is not JSON', { cause: error });
  }
  const problems: string[] = [];
  if (cursor.v !== 1) problems.push('v must be 1');
  if (cursor.stage !== 'repositories' && cursor.stage !== 'organization')
    problems.push('stage must be repositories or organization');
  if (cursor.stage === 'repositories' && cursor.after !== null && typeof cursor.after !== 'string')
    problems.push('after must be a string or null');
  if (
    cursor.stage === 'organization' &&
    !(Number.isInteger(cursor.pass) && (cursor.pass ?? -1) >= 0 && (cursor.pass ?? 0) <= ORGANIZATION.length)
  )
    problems.push(`pass must be an integer from 0 to ${ORGANIZATION.length}`);
  if (!Array.isArray(cursor.rulesets)) problems.push('rulesets must be a list');
  if (!Array.isArray(cursor.findings)) problems.push('findings must be a list');
  if (problems.length > 0) {
    throw new ConnectorError(
      `the GitHub snapshot cursor is not one this connector wrote: ${problems.join('; ')}`,
    );
  }
  return cursor as SnapshotCursor;
}

function emptyIndex(): SnapshotIndex {
  return {
    members: new Map(),
    teams: { members: new Set(), repositories: new Map() },
    repositories: [],
    defaultBranchRequiresReview: new Map(),
    defaultBranchRestrictions: new Map(),
    reviewRulesets: new Map(),
    environmentNames: new Map(),
    directCollaborators: new Map(),
  };
}

/** Forgets what one page of repositories taught the index, so memory stays with a page. */
function startPage(index: SnapshotIndex): void {
  index.repositories = [];
  index.defaultBranchRequiresReview.clear();
  index.defaultBranchRestrictions.clear();
  index.reviewRulesets.clear();
  index.environmentNames?.clear();
  index.directCollaborators?.clear();
}

/**
 * The whole snapshot as described above PEOPLE, from `resumeFrom` (a cursor this yielded) or from
 * the start. Resuming reads the people and the org rulesets again without yielding them: later
 * grants link to them, and they cost a few pages, whatever the number of repositories.
 */
async function* pagedSnapshot(
  context: GitHubContext,
  resumeFrom: string | undefined,
): AsyncGenerator<Grant | SnapshotCheckpoint> {
  const cursor = resumeFrom === undefined ? undefined : decodeCursor(resumeFrom);
  const index = emptyIndex();
  const separation = new SeparationOfDuties(index);
  const tally = new Map<number, RulesetTally>(
    (cursor?.rulesets ?? []).map(([id, applies, targetsDefault]) => [
      id,
      { applies, targetsDefault: targetsDefault === 1 },
    ]),
  );
  for (const [id, count, ...notes] of cursor?.findings ?? []) {
    separation.organizationFindings.set(id, { count, notes });
  }
  const checkpoint = (position: Pick<SnapshotCursor, 'stage' | 'after' | 'pass'>): SnapshotCheckpoint => ({
    kind: 'checkpoint',
    cursor: encodeCursor(position, tally, separation.organizationFindings),
  });

  for (const kind of PEOPLE) {
    for await (const grant of kind.snapshot(context, index)) {
      separation.observe(grant);
      if (!cursor) yield grant;
    }
  }
  // Org rulesets are read before the pages: whether a page's default branches need review depends
  // on them, and their bypass actors take part in the pages' separation-of-duties findings.
  const organizationRulesets: OrganizationRuleset[] = await readOrganizationRulesets(context);
  const actorNames = new ActorNames(context);
  for await (const grant of organizationRulesetGrants(context, organizationRulesets, new Map(), actorNames)) {
    separation.observe(grant);
  }

  if (!cursor || cursor.stage === 'repositories') {
    let after = cursor?.after ?? null;
    const seenCursors = new Set<string>();
    for (;;) {
      const page = await readRepositoryPage(context, after);
      startPage(index);
      index.repositories.push(...page.repositories.map(repositoryInfoOf));
      noteOrganizationRulesets(context.organization, index, organizationRulesets, index.repositories, tally);
      const passes = [
        repositoryPageGrants(context, index, page.repositories),
        ...PER_REPOSITORY.map((kind) => kind.snapshot(context, index, 'repositories')),
      ];
      for (const pass of passes) {
        for await (const grant of pass) {
          if (separation.observe(grant)) continue;
          yield grant;
        }
      }
      yield* separation.flagPage();
      if (!page.pageInfo.hasNextPage) break;
      after = nextCursor(page.pageInfo, seenCursors, `repositories of ${context.organization}`);
      yield checkpoint({ stage: 'repositories', after });
    }
    startPage(index);
    yield checkpoint({ stage: 'organization', pass: 0 });
  }

  for (
    let pass = cursor?.stage === 'organization' ? (cursor.pass ?? 0) : 0;
    pass < ORGANIZATION.length;
    pass++
  ) {
    const kind = ORGANIZATION[pass];
    if (!kind) break;
    for await (const grant of kind.snapshot(context, index, 'organization')) {
      if (separation.observe(grant)) continue;
      yield grant;
    }
    yield checkpoint({ stage: 'organization', pass: pass + 1 });
  }
  // The org rulesets' grants again, now with what every repository page counted for them.
  const final: Grant[] = [];
  for await (const grant of organizationRulesetGrants(context, organizationRulesets, tally, actorNames)) {
    final.push(grant);
  }
  yield* separation.flagOrganization(final);
}

const BY_GRANT_KIND = new Map<GrantKind, GitHubAccessKind>(
  ACCESS_KINDS.flatMap((kind) => kind.grantKinds.map((grantKind) => [grantKind, kind] as const)),
);

function describe(grant: Grant): string {
  return `${grant.principal} ${grant.entitlement} on ${grant.resource} ${describeVia(grant.via)} (${grant.grantId})`;
}

function classify(grant: Grant, organization: string): GitHubAccessKind {
  if (grant.connector !== 'github') {
    throw new ConnectorError(`grant ${grant.grantId} belongs to connector ${grant.connector}, not github`);
  }
  if (organizationOfResource(grant.resource).toLowerCase() !== organization.toLowerCase()) {
    throw new ConnectorError(`grant ${describe(grant)} is not in organization ${organization}`);
  }
  const kind = BY_GRANT_KIND.get(grant.grantKind);
  if (!kind) {
    throw new ConnectorError(
      `grant ${describe(grant)} is of kind ${String(grant.grantKind)}, which the GitHub connector does not know`,
    );
  }
  return kind;
}

/**
 * Access that follows from other grants cannot be removed on its own: GitHub has nothing to delete
 * at "carol's write via team platform". The error names what to revoke instead.
 */
function refuseDerived(grant: Grant): never {
  const instead =
    grant.via.kind === 'team'
      ? `revoke the user's membership of team ${grant.via.through ?? grant.via.team} or the team's access to ${grant.resource}`
      : grant.via.kind === 'organization_base'
        ? `revoke the user's membership of ${grant.via.organization} (an owner's admin: their owner role), or lower its base permission`
        : 'revoke the grant it follows from';
  const parents = grant.derivedFrom.length > 0 ? ` (grants ${grant.derivedFrom.join(', ')})` : '';
  throw new ConnectorError(
    `grant ${describe(grant)} is derived and cannot be revoked at GitHub: ${instead}${parents}`,
  );
}

/**
 * GitHub as a Connector: snapshot every kind of access that can change or ship code (memberships
 * and roles, repository access by every path, invitations, deploy keys, environment reviewers,
 * protection and ruleset bypass, Actions secrets and variables, runner groups, apps and tokens),
 * revoke each at its source (or say what a person must do where no API can), and check by any path.
 */
export function createGitHubConnector(options: GitHubConnectorOptions): Connector {
  const octokit =
    options.client ??
    createGitHubClient({
      token: options.token,
      ...(options.app ? { app: options.app } : {}),
      baseUrl: options.baseUrl,
      throttle: options.throttle,
      warn: options.warn,
    });
  const usage = trackUsage(octokit);
  const context: GitHubContext = {
    octokit,
    organization: options.organization,
    token: options.token,
    ...(options.repositoriesPerPage ? { repositoriesPerPage: options.repositoriesPerPage } : {}),
  };

  return {
    name: 'github',

    async *snapshot(): AsyncGenerator<Grant> {
      for await (const item of pagedSnapshot(context, undefined)) {
        if (!isSnapshotCheckpoint(item)) yield item;
      }
    },

    resumableSnapshot: (resumeFrom?: string) => pagedSnapshot(context, resumeFrom),

    async revoke(grant: Grant): Promise<RevokeResult> {
      const kind = classify(grant, context.organization);
      if (!grant.reviewable || grant.via.kind === 'team' || grant.via.kind === 'organization_base') {
        refuseDerived(grant);
      }
      return kind.revoke(context, grant);
    },

    async downgrade(grant: Grant, to: string): Promise<RevokeResult> {
      classify(grant, context.organization);
      return downgradeGitHubGrant(context, grant, to);
    },

    async check(grant: Grant): Promise<CheckResult> {
      return classify(grant, context.organization).check(context, grant);
    },

    ownIdentities: () => gitHubOwnIdentities(context, options.app !== undefined),

    usage,
  };
}
