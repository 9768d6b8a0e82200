import { ConnectorError } from '../../core/errors';
import { describeVia, type Grant, type GrantKind, organizationOfResource } from '../../core/grant';
import type { CheckResult, Connector, RevokeResult } from '../connector';
import type { GitHubAccessKind, SnapshotIndex } from './access-kind';
import { actionsSecrets } from './actions-secrets';
import { appInstallations } from './apps';
import { branchProtection } from './branch-protection';
import { createGitHubClient, type GitHubClient, type ThrottleTuning } from './client';
import type { GitHubContext } from './context';
import { deployKeys } from './deploy-keys';
import { environments } from './environments';
import { invitations } from './invitations';
import {
  checkOrganizationMembership,
  revokeOrganizationMembership,
  snapshotOrganizationMembers,
} from './organization-members';
import { gitHubOwnIdentities } from './own-identity';
import { personalAccessTokens } from './personal-access-tokens';
import {
  checkRepositoryAccess,
  revokeDirectRepositoryAccess,
  snapshotRepositoryAccess,
} from './repository-access';
import { rulesets } from './rulesets';
import { runnerGroups } from './runner-groups';
import { SeparationOfDuties } from './separation-of-duties';
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
}

/** Every kind the connector knows, in snapshot order: later passes use what earlier ones indexed. */
const ACCESS_KINDS: readonly GitHubAccessKind[] = [
  {
    grantKinds: ['organization_membership'],
    snapshot: (context, index) => snapshotOrganizationMembers(context, index.members),
    revoke: revokeOrganizationMembership,
    check: checkOrganizationMembership,
  },
  {
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
  },
  {
    grantKinds: ['user_repository'],
    snapshot: (context, index) => snapshotRepositoryAccess(context, index),
    revoke: revokeDirectRepositoryAccess,
    check: checkRepositoryAccess,
  },
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
  const context: GitHubContext = { octokit, organization: options.organization, token: options.token };

  return {
    name: 'github',

    async *snapshot(): AsyncGenerator<Grant> {
      const index: SnapshotIndex = {
        members: new Map(),
        teams: { members: new Set(), repositories: new Map() },
        repositories: [],
        defaultBranchRequiresReview: new Map(),
        defaultBranchRestrictions: new Map(),
        reviewRulesets: new Map(),
      };
      const separation = new SeparationOfDuties(index);
      for (const kind of ACCESS_KINDS) {
        for await (const grant of kind.snapshot(context, index)) {
          // Grants that can take part in a separation-of-duties finding wait for the last pass.
          if (separation.observe(grant)) continue;
          yield grant;
        }
      }
      yield* separation.flagged();
    },

    async revoke(grant: Grant): Promise<RevokeResult> {
      const kind = classify(grant, context.organization);
      if (!grant.reviewable || grant.via.kind === 'team' || grant.via.kind === 'organization_base') {
        refuseDerived(grant);
      }
      return kind.revoke(context, grant);
    },

    async check(grant: Grant): Promise<CheckResult> {
      return classify(grant, context.organization).check(context, grant);
    },

    ownIdentities: () => gitHubOwnIdentities(context, options.app !== undefined),

    usage,
  };
}
