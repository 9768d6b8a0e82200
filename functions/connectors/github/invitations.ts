import { ConnectorError } from '../../core/errors';
import { type Grant, type GrantFlag, makeGrant, permissionAtLeast } from '../../core/grant';
import type { CheckResult, RevokeResult } from '../connector';
import type { GitHubAccessKind } from './access-kind';
import { type GitHubContext, now, runRest } from './context';
import { gitHubFailure, statusOf } from './errors';
import {
  type InvitationRole,
  isRepositoryPermission,
  organizationInvitationKey,
  repositoryInvitationKey,
  splitInOrganization,
} from './keys';
import { type CustomRoles, readCustomRoles } from './repository-access';

/*
 * Pending invitations: access that exists as soon as someone clicks "accept". Org invitations
 * (GET /orgs/{org}/invitations) go to a login or to an email address; repository invitations
 * (GET /repos/{owner}/{repo}/invitations) make an outside collaborator. Revoking cancels the
 * invitation; the check lists the invitations again.
 */

interface OrgInvitation {
  id: number;
  login: string | null;
  email: string | null;
  role: string;
  created_at: string;
  inviter?: { login: string } | null;
  team_count: number;
}

interface RepositoryInvitation {
  id: number;
  permissions: string;
  created_at: string;
  invitee: { login: string } | null;
  inviter: { login: string } | null;
}

/**
 * GitHub's invitation role in our terms: `admin` invites an owner; `direct_member` (and
 * `reinstate`, a former member coming back) a member; `billing_manager` manages billing only.
 * Roles GitHub may add later read as `member`, the access every invitation gives; raw keeps the
 * original.
 */
function invitationRole(role: string): InvitationRole {
  if (role === 'admin') return 'owner';
  if (role === 'billing_manager') return 'billing_manager';
  return 'member';
}

async function listOrganizationInvitations(context: GitHubContext): Promise<OrgInvitation[]> {
  const org = context.organization;
  try {
    const items = await context.octokit.paginate('GET /orgs/{org}/invitations', { org, per_page: 100 });
    return items as OrgInvitation[];
  } catch (error) {
    throw gitHubFailure(error, `GET /orgs/${org}/invitations`, context.token);
  }
}

/** The repository's pending invitations, or 'not_found' when the repository is gone. */
async function listRepositoryInvitations(
  context: GitHubContext,
  owner: string,
  repo: string,
): Promise<RepositoryInvitation[] | 'not_found'> {
  try {
    const items = await context.octokit.paginate('GET /repos/{owner}/{repo}/invitations', {
      owner,
      repo,
      per_page: 100,
    });
    return items as RepositoryInvitation[];
  } catch (error) {
    if (statusOf(error) === 404) return 'not_found';
    throw gitHubFailure(error, `GET /repos/${owner}/${repo}/invitations`, context.token);
  }
}

/** Who was invited: the login, or the email address when GitHub knows no account for it. */
function inviteeOf(invitation: OrgInvitation): string | undefined {
  return invitation.login ?? invitation.email ?? undefined;
}

function sameInvitee(invitation: OrgInvitation, invitee: string): boolean {
  return inviteeOf(invitation)?.toLowerCase() === invitee.toLowerCase();
}

/** Whether an invitation of `held` role gives `wanted`: an owner invitation also makes a member. */
function orgRoleGives(held: InvitationRole, wanted: string): boolean {
  return held === wanted || (held === 'owner' && wanted === 'member');
}

/** A role is built in, or the name of a custom role (compared by its base role where known). */
function repositoryRoleGives(held: string, wanted: string, customRoles: CustomRoles): boolean {
  if (held.toLowerCase() === wanted.toLowerCase()) return true;
  const base = (role: string) =>
    isRepositoryPermission(role) ? role : customRoles.get(role.toLowerCase())?.baseRole;
  const heldBase = base(held);
  const wantedBase = base(wanted);
  return heldBase !== undefined && wantedBase !== undefined && permissionAtLeast(heldBase, wantedBase);
}

/** Custom roles, read once per call and only when a role that is not built in turns up. */
function lazyCustomRoles(context: GitHubContext): () => Promise<CustomRoles> {
  let roles: Promise<CustomRoles> | undefined;
  return () => {
    roles ??= readCustomRoles(context);
    return roles;
  };
}

export const invitations: GitHubAccessKind = {
  grantKinds: ['organization_invitation', 'repository_invitation'],

  async *snapshot(context, index, scope = 'all') {
    const org = context.organization;
    const organizationInvitations =
      scope === 'repositories' ? [] : await listOrganizationInvitations(context);
    for (const invitation of organizationInvitations) {
      const invitee = inviteeOf(invitation);
      if (!invitee) continue;
      yield makeGrant(organizationInvitationKey(org, invitee, invitationRole(invitation.role)), {
        raw: {
          invitationId: invitation.id,
          role: invitation.role,
          inviter: invitation.inviter?.login ?? null,
          createdAt: invitation.created_at,
          teamCount: invitation.team_count,
          ...(invitation.login ? {} : { email: invitation.email }),
        },
        ...(invitation.login ? { holder: invitation.login } : {}),
      });
    }
    const customRoles = lazyCustomRoles(context);
    for (const repository of scope === 'organization' ? [] : index.repositories) {
      const listed = await listRepositoryInvitations(context, org, repository.name);
      if (listed === 'not_found') {
        // The repository pass just listed it: GitHub's 404 here is most often a token that may not
        // administer it, and skipping would hide whoever is invited. Stop, and say so.
        throw new ConnectorError(
          `GitHub GET /repos/${org}/${repository.name}/invitations answered 404 for a repository the snapshot just listed: the token may not administer it`,
        );
      }
      for (const invitation of listed) {
        // A null invitee is an account deleted since it was invited: nobody can accept it.
        if (!invitation.invitee) continue;
        const login = invitation.invitee.login;
        const role = invitation.permissions;
        const custom = isRepositoryPermission(role)
          ? undefined
          : (await customRoles()).get(role.toLowerCase());
        const flags: GrantFlag[] = custom ? ['custom_role'] : [];
        yield makeGrant(repositoryInvitationKey(org, repository.name, login, role), {
          raw: {
            invitationId: invitation.id,
            inviter: invitation.inviter?.login ?? null,
            createdAt: invitation.created_at,
            ...(custom ? { baseRole: custom.baseRole } : {}),
          },
          flags,
          holder: login,
        });
      }
    }
  },

  async revoke(context, grant) {
    return grant.grantKind === 'organization_invitation'
      ? revokeOrganizationInvitation(context, grant)
      : revokeRepositoryInvitation(context, grant);
  },

  async check(context, grant) {
    return grant.grantKind === 'organization_invitation'
      ? checkOrganizationInvitation(context, grant)
      : checkRepositoryInvitation(context, grant);
  },
};

function organizationInvitationsOf(context: GitHubContext, grant: Grant) {
  if (grant.resource.toLowerCase() !== context.organization.toLowerCase()) {
    throw new ConnectorError(
      `grant ${grant.grantId}: organization invitation to ${grant.resource}, not ${context.organization}`,
    );
  }
  return listOrganizationInvitations(context);
}

/** What a DELETE of an invitation did; a 404 means it was accepted, declined or cancelled meanwhile. */
function cancelOutcome(answer: unknown, call: string, invitation: string): RevokeResult {
  if (answer === 'not_found') {
    return { outcome: 'already_absent', appliedAt: now(), action: `${call}: the invitation is gone` };
  }
  return { outcome: 'removed', appliedAt: now(), action: `${call}: cancelled ${invitation}` };
}

/** Present while any pending invitation gives the entitlement: each one is a path, named by its id. */
function invitationPaths<T extends { id: number }>(
  holding: T[],
  permission: (invitation: T) => string,
): CheckResult {
  const checkedAt = now();
  return holding.length > 0
    ? {
        status: 'present',
        checkedAt,
        paths: holding.map((invitation) => ({
          via: `invitation ${invitation.id}`,
          permission: permission(invitation),
        })),
      }
    : { status: 'absent', checkedAt };
}

/**
 * DELETE /orgs/{org}/invitations/{invitation_id} for the invitee's pending invitation, found by
 * listing. An invitation whose role no longer gives the entitlement (an owner invitation changed to
 * member) is left alone: the access reviewed is not there.
 */
async function revokeOrganizationInvitation(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const org = context.organization;
  const pending = (await organizationInvitationsOf(context, grant)).filter((invitation) =>
    sameInvitee(invitation, grant.principal),
  );
  const target = pending.find((invitation) =>
    orgRoleGives(invitationRole(invitation.role), grant.entitlement),
  );
  if (!target) {
    const other = pending[0];
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: other
        ? `GET /orgs/${org}/invitations: ${grant.principal}'s invitation ${other.id} is now as ${other.role}, not ${grant.entitlement}; not cancelled`
        : `GET /orgs/${org}/invitations: no pending invitation for ${grant.principal}; nothing to DELETE`,
    };
  }
  const call = `DELETE /orgs/${org}/invitations/${target.id}`;
  const answer = await runRest(context, call, () =>
    context.octokit.request('DELETE /orgs/{org}/invitations/{invitation_id}', {
      org,
      invitation_id: target.id,
    }),
  );
  return cancelOutcome(answer, call, `${grant.principal}'s invitation to ${org} as ${target.role}`);
}

async function checkOrganizationInvitation(context: GitHubContext, grant: Grant): Promise<CheckResult> {
  const pending = await organizationInvitationsOf(context, grant);
  const holding = pending.filter(
    (invitation) =>
      sameInvitee(invitation, grant.principal) &&
      orgRoleGives(invitationRole(invitation.role), grant.entitlement),
  );
  return invitationPaths(holding, (invitation) => invitationRole(invitation.role));
}

async function pendingRepositoryInvitations(context: GitHubContext, grant: Grant) {
  const [owner, repo] = splitInOrganization(grant.resource, context.organization, 'repository');
  const listed = await listRepositoryInvitations(context, owner, repo);
  const mine =
    listed === 'not_found'
      ? []
      : listed.filter(
          (invitation) => invitation.invitee?.login.toLowerCase() === grant.principal.toLowerCase(),
        );
  return { owner, repo, mine };
}

/** The org's custom roles when the grant or an invitation names a role that is not built in. */
async function customRolesFor(
  context: GitHubContext,
  grant: Grant,
  pending: RepositoryInvitation[],
): Promise<CustomRoles> {
  const needed =
    !isRepositoryPermission(grant.entitlement) ||
    pending.some((invitation) => !isRepositoryPermission(invitation.permissions));
  return needed ? readCustomRoles(context) : new Map();
}

/**
 * DELETE /repos/{owner}/{repo}/invitations/{invitation_id} for the invitee's pending invitation,
 * found by listing (GitHub allows one pending invitation per user and repository).
 */
async function revokeRepositoryInvitation(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const { owner, repo, mine } = await pendingRepositoryInvitations(context, grant);
  const customRoles = await customRolesFor(context, grant, mine);
  const target = mine.find((invitation) =>
    repositoryRoleGives(invitation.permissions, grant.entitlement, customRoles),
  );
  if (!target) {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `GET /repos/${owner}/${repo}/invitations: no pending invitation for ${grant.principal} as ${grant.entitlement} or more; nothing to DELETE`,
    };
  }
  const id = target.id;
  const call = `DELETE /repos/${owner}/${repo}/invitations/${id}`;
  const answer = await runRest(context, call, () =>
    context.octokit.request('DELETE /repos/{owner}/{repo}/invitations/{invitation_id}', {
      owner,
      repo,
      invitation_id: id,
    }),
  );
  return cancelOutcome(
    answer,
    call,
    `${grant.principal}'s invitation to ${grant.resource} as ${target.permissions}`,
  );
}

async function checkRepositoryInvitation(context: GitHubContext, grant: Grant): Promise<CheckResult> {
  const { mine } = await pendingRepositoryInvitations(context, grant);
  const customRoles = await customRolesFor(context, grant, mine);
  const holding = mine.filter((invitation) =>
    repositoryRoleGives(invitation.permissions, grant.entitlement, customRoles),
  );
  return invitationPaths(holding, (invitation) => invitation.permissions);
}
