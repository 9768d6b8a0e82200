import { type Grant, makeGrant } from '../../core/grant';
import type { AccessPath, CheckResult, RevokeResult } from '../connector';
import { type GitHubContext, now, runQuery, runRest } from './context';
import { type OrgRole, orgMembershipKey } from './keys';
import { allItems, present } from './paging';
import { ORGANIZATION_MEMBERS, type OrganizationMemberEdge, type OrganizationMembersResult } from './queries';

/** Lower-cased login → the member's login and role, for grants that follow from a membership. */
export type MemberIndex = Map<string, { login: string; role: OrgRole }>;

/** Org memberships: GraphQL membersWithRole, where role ADMIN is an owner. */
export async function* snapshotOrganizationMembers(
  context: GitHubContext,
  members: MemberIndex,
): AsyncGenerator<Grant> {
  const { organization } = context;
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
    const role: OrgRole = edge.role === 'ADMIN' ? 'owner' : 'member';
    members.set(edge.node.login.toLowerCase(), { login: edge.node.login, role });
    yield makeGrant(orgMembershipKey(organization, edge.node.login, role), {
      raw: { role: edge.role },
    });
  }
}

/** DELETE /orgs/{org}/memberships/{username}: removes an owner or a member from the organisation. */
export async function revokeOrganizationMembership(
  context: GitHubContext,
  grant: Grant,
): Promise<RevokeResult> {
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

/** GET the membership again: `member` holds for any membership, `owner` only while the role is admin. */
export async function checkOrganizationMembership(
  context: GitHubContext,
  grant: Grant,
): Promise<CheckResult> {
  const org = context.organization;
  const username = grant.principal;
  const answer = await runRest(context, `GET /orgs/${org}/memberships/${username}`, () =>
    context.octokit.request('GET /orgs/{org}/memberships/{username}', { org, username }),
  );
  const checkedAt = now();
  if (answer === 'not_found') return { status: 'absent', checkedAt };
  const role: OrgRole = answer.data.role === 'admin' ? 'owner' : 'member';
  const paths: AccessPath[] = [{ via: 'direct', permission: role }];
  const holds = grant.entitlement === 'member' || role === grant.entitlement;
  return holds ? { status: 'present', checkedAt, paths } : { status: 'absent', checkedAt };
}
