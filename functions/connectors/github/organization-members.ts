import { ConnectorError } from '../../core/errors';
import { type Grant, type GrantFlag, makeGrant } from '../../core/grant';
import type { CheckResult, RevokeResult } from '../connector';
import { type GitHubContext, now, runQuery, runRest } from './context';
import { gitHubFailure } from './errors';
import { isOrgRole, type OrgRole, orgMembershipKey } from './keys';
import { allItems, present } from './paging';
import { ORGANIZATION_MEMBERS, type OrganizationMemberEdge, type OrganizationMembersResult } from './queries';

/** Lower-cased login → the member's login and role, for grants that follow from a membership. */
export type MemberIndex = Map<string, { login: string; role: OrgRole }>;

/**
 * Lower-cased logins of members without two-factor authentication: GET /orgs/{org}/members with
 * filter=2fa_disabled. GitHub offers the filter to organisation owners only, so the token must act
 * as one; without that GitHub refuses, and the snapshot fails rather than report nobody as exposed.
 */
async function membersWithoutTwoFactor(context: GitHubContext): Promise<Set<string>> {
  const org = context.organization;
  try {
    const users = await context.octokit.paginate('GET /orgs/{org}/members', {
      org,
      filter: '2fa_disabled',
      per_page: 100,
    });
    return new Set(users.map((user) => user.login.toLowerCase()));
  } catch (error) {
    throw gitHubFailure(error, `GET /orgs/${org}/members?filter=2fa_disabled`, context.token);
  }
}

/**
 * Org memberships: GraphQL membersWithRole, where role ADMIN is an owner. Every member gets a
 * `member` grant (being in the org); owners also get an `owner` grant (the role on top of it), so
 * "keep alice, but not as owner" is a decision a reviewer can make. Both are flagged
 * `two_factor_disabled` for a member without two-factor authentication.
 */
export async function* snapshotOrganizationMembers(
  context: GitHubContext,
  members: MemberIndex,
): AsyncGenerator<Grant> {
  const { organization } = context;
  // Read once the organisation is known to exist: a missing organisation is GraphQL's NOT_FOUND.
  let withoutTwoFactor: Set<string> | undefined;
  const edges = allItems<OrganizationMemberEdge>(`members of ${organization}`, async (after) => {
    const result = await runQuery<OrganizationMembersResult>(
      context,
      `list members of ${organization}`,
      ORGANIZATION_MEMBERS,
      { org: organization, after },
    );
    const connection = result.organization?.membersWithRole;
    return {
      pageInfo: connection?.pageInfo ?? { hasNextPage: false, endCursor: null },
      items: present(connection?.edges),
    };
  });
  for await (const edge of edges) {
    if (!edge.node) continue;
    withoutTwoFactor ??= await membersWithoutTwoFactor(context);
    const login = edge.node.login;
    const role: OrgRole = edge.role === 'ADMIN' ? 'owner' : 'member';
    members.set(login.toLowerCase(), { login, role });
    const flags: GrantFlag[] = withoutTwoFactor.has(login.toLowerCase()) ? ['two_factor_disabled'] : [];
    yield makeGrant(orgMembershipKey(organization, login, 'member'), { raw: { role: edge.role }, flags });
    if (role === 'owner') {
      yield makeGrant(orgMembershipKey(organization, login, 'owner'), { raw: { role: edge.role }, flags });
    }
  }
}

function entitlementOf(grant: Grant, org: string): OrgRole {
  if (isOrgRole(grant.entitlement)) return grant.entitlement;
  throw new ConnectorError(
    `grant ${grant.grantId}: "${grant.entitlement}" on organization ${org} is not an entitlement the GitHub connector knows (member, owner)`,
  );
}

function readMembership(context: GitHubContext, username: string) {
  const org = context.organization;
  return runRest(context, `GET /orgs/${org}/memberships/${username}`, () =>
    context.octokit.request('GET /orgs/{org}/memberships/{username}', { org, username }),
  );
}

/**
 * `member`: DELETE /orgs/{org}/memberships/{username}, which removes the user from the
 * organisation (their `owner` role and team memberships go with it).
 * `owner`: PUT the membership with role `member`, which demotes and keeps the membership.
 */
export async function revokeOrganizationMembership(
  context: GitHubContext,
  grant: Grant,
): Promise<RevokeResult> {
  const entitlement = entitlementOf(grant, context.organization);
  return entitlement === 'owner' ? demoteOwner(context, grant) : removeMember(context, grant);
}

async function removeMember(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const org = context.organization;
  const username = grant.principal;
  const call = `DELETE /orgs/${org}/memberships/${username}`;
  const answer = await runRest(context, call, () =>
    context.octokit.request('DELETE /orgs/{org}/memberships/{username}', { org, username }),
  );
  if (answer === 'not_found') {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `${call}: ${username} was not a member of ${org}`,
    };
  }
  return {
    outcome: 'removed',
    appliedAt: now(),
    action: `${call}: removed ${username} from organization ${org}`,
  };
}

/**
 * GET the membership first: on GitHub, PUT for someone who is not a member sends them an
 * invitation, so it is only sent to a current owner. (A removal between the GET and the PUT would
 * still turn the PUT into an invitation as a member; GitHub offers no conditional update.)
 */
async function demoteOwner(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const org = context.organization;
  const username = grant.principal;
  const call = `PUT /orgs/${org}/memberships/${username} {"role":"member"}`;
  const before = await readMembership(context, username);
  if (before === 'not_found') {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `GET /orgs/${org}/memberships/${username}: ${username} is not a member of ${org}; ${call} not sent (it would invite them)`,
    };
  }
  if (before.data.role !== 'admin') {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `GET /orgs/${org}/memberships/${username}: ${username} is a ${before.data.role}, not an owner, of ${org}; nothing to demote`,
    };
  }
  const answer = await runRest(context, call, () =>
    context.octokit.request('PUT /orgs/{org}/memberships/{username}', { org, username, role: 'member' }),
  );
  if (answer === 'not_found') {
    return { outcome: 'already_absent', appliedAt: now(), action: `${call}: organization or user is gone` };
  }
  return {
    outcome: 'removed',
    appliedAt: now(),
    action: `${call}: demoted ${username} from owner to member of ${org}; the membership is kept`,
  };
}

/** GET the membership again: `member` holds for any membership, `owner` only while the role is admin. */
export async function checkOrganizationMembership(
  context: GitHubContext,
  grant: Grant,
): Promise<CheckResult> {
  const entitlement = entitlementOf(grant, context.organization);
  const answer = await readMembership(context, grant.principal);
  const checkedAt = now();
  if (answer === 'not_found') return { status: 'absent', checkedAt };
  const role: OrgRole = answer.data.role === 'admin' ? 'owner' : 'member';
  const holds = entitlement === 'member' || role === 'owner';
  return holds
    ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission: role }] }
    : { status: 'absent', checkedAt };
}
