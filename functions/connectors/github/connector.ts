import { ConnectorError } from '../../core/errors';
import { describeVia, type Grant } from '../../core/grant';
import type { CheckResult, Connector, RevokeResult } from '../connector';
import { createGitHubClient, type GitHubClient, type ThrottleTuning } from './client';
import type { GitHubContext } from './context';
import {
  checkOrganizationMembership,
  type MemberIndex,
  revokeOrganizationMembership,
  snapshotOrganizationMembers,
} from './organization-members';
import {
  checkRepositoryAccess,
  revokeDirectRepositoryAccess,
  snapshotRepositoryAccess,
} from './repository-access';
import { checkTeamMembership, revokeTeamMembership } from './team-members';
import { checkTeamRepository, revokeTeamRepository } from './team-repositories';
import { snapshotTeams, type TeamIndex } from './teams';

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
}

type GrantKind = 'organization_membership' | 'team_membership' | 'team_repository' | 'user_repository';

/** Which of the connector's grant kinds this is, judged by its shape (not by where it came from). */
function kindOf(grant: Grant): GrantKind | undefined {
  if (grant.resourceType === 'organization' && grant.principalType === 'user')
    return 'organization_membership';
  if (grant.resourceType === 'team' && grant.principalType === 'user') return 'team_membership';
  if (grant.resourceType === 'repository' && grant.principalType === 'team') return 'team_repository';
  if (grant.resourceType === 'repository' && grant.principalType === 'user') return 'user_repository';
  return undefined;
}

function describe(grant: Grant): string {
  return `${grant.principal} ${grant.entitlement} on ${grant.resource} ${describeVia(grant.via)} (${grant.grantId})`;
}

function classify(grant: Grant, organization: string): GrantKind {
  if (grant.connector !== 'github') {
    throw new ConnectorError(`grant ${grant.grantId} belongs to connector ${grant.connector}, not github`);
  }
  const owner = grant.resourceType === 'organization' ? grant.resource : grant.resource.split('/')[0];
  if (owner?.toLowerCase() !== organization.toLowerCase()) {
    throw new ConnectorError(`grant ${describe(grant)} is not in organization ${organization}`);
  }
  const kind = kindOf(grant);
  if (!kind)
    throw new ConnectorError(`grant ${describe(grant)} is not a kind of access the GitHub connector knows`);
  return kind;
}

/**
 * Access that follows from other grants cannot be removed on its own: GitHub has nothing to delete
 * at "carol's write via team platform". The error names what to revoke instead.
 */
function refuseDerived(grant: Grant): never {
  const instead =
    grant.via.kind === 'team'
      ? `revoke the user's membership of team ${grant.via.team} or the team's access to ${grant.resource}`
      : grant.via.kind === 'organization_base'
        ? `revoke the user's membership of ${grant.via.organization} (an owner's admin: their owner role), or lower its base permission`
        : 'revoke the grant it follows from';
  const parents = grant.derivedFrom.length > 0 ? ` (grants ${grant.derivedFrom.join(', ')})` : '';
  throw new ConnectorError(
    `grant ${describe(grant)} is derived and cannot be revoked at GitHub: ${instead}${parents}`,
  );
}

/**
 * GitHub as a Connector: snapshot (org memberships and owner roles, team memberships and
 * maintainer roles, teams' repository access, users' repository access by each path), revoke at
 * the grant's source (removing a membership, or demoting a role while keeping the membership),
 * and check by any path.
 */
export function createGitHubConnector(options: GitHubConnectorOptions): Connector {
  const context: GitHubContext = {
    octokit:
      options.client ??
      createGitHubClient({
        token: options.token,
        baseUrl: options.baseUrl,
        throttle: options.throttle,
        warn: options.warn,
      }),
    organization: options.organization,
    token: options.token,
  };

  return {
    name: 'github',

    async *snapshot(): AsyncGenerator<Grant> {
      const members: MemberIndex = new Map();
      const teams: TeamIndex = { members: new Set(), repositories: new Map() };
      // Order matters: repository access links to membership grants, so those passes come first.
      yield* snapshotOrganizationMembers(context, members);
      yield* snapshotTeams(context, teams);
      yield* snapshotRepositoryAccess(context, members, teams);
    },

    async revoke(grant: Grant): Promise<RevokeResult> {
      const kind = classify(grant, context.organization);
      if (!grant.reviewable || grant.via.kind !== 'direct') refuseDerived(grant);
      switch (kind) {
        case 'organization_membership':
          return revokeOrganizationMembership(context, grant);
        case 'team_membership':
          return revokeTeamMembership(context, grant);
        case 'team_repository':
          return revokeTeamRepository(context, grant);
        case 'user_repository':
          return revokeDirectRepositoryAccess(context, grant);
      }
    },

    async check(grant: Grant): Promise<CheckResult> {
      switch (classify(grant, context.organization)) {
        case 'organization_membership':
          return checkOrganizationMembership(context, grant);
        case 'team_membership':
          return checkTeamMembership(context, grant);
        case 'team_repository':
          return checkTeamRepository(context, grant);
        case 'user_repository':
          return checkRepositoryAccess(context, grant);
      }
    },
  };
}
