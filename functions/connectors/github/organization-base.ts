import { ConnectorError } from '../../core/errors';
import { type Grant, makeGrant, permissionAtLeast, type RepositoryPermission } from '../../core/grant';
import type { CheckResult, RevokeResult } from '../connector';
import { type GitHubContext, now, runRest } from './context';
import { basePermissionKey, isRepositoryPermission } from './keys';

export type BasePermission = RepositoryPermission | 'none';

/**
 * GET /orgs/{org} `default_repository_permission`: what every member may do on every repository.
 * GitHub shows it to owners only; without it, effective access cannot be worked out, so its
 * absence stops the snapshot rather than guess `none` (which would hide everyone's read access).
 */
export async function readBasePermission(context: GitHubContext): Promise<BasePermission> {
  const org = context.organization;
  const call = `GET /orgs/${org}`;
  const answer = await runRest(context, call, () => context.octokit.request('GET /orgs/{org}', { org }));
  if (answer === 'not_found') throw new ConnectorError(`GitHub ${call} answered 404: no organization ${org}`);
  const permission = (answer.data as { default_repository_permission?: string | null })
    .default_repository_permission;
  if (permission === 'none' || (typeof permission === 'string' && isRepositoryPermission(permission))) {
    return permission;
  }
  throw new ConnectorError(
    `GitHub ${call} did not show default_repository_permission (got ${JSON.stringify(permission ?? null)}): the token must act as an owner of ${org} to read the base permission`,
  );
}

/**
 * The base permission as one grant, reviewed like any other (by the organisation's owners when
 * routing names nobody else): one decision about a fact of the organisation, instead of a row
 * per member and repository. Nothing when the base permission is `none`.
 */
export function basePermissionGrants(
  organization: string,
  permission: BasePermission,
  members: number,
): Grant[] {
  if (permission === 'none') return [];
  return [
    makeGrant(basePermissionKey(organization, permission), {
      raw: { defaultRepositoryPermission: permission, members },
    }),
  ];
}

/**
 * No API call is right to make on a reviewer's say-so: lowering the base permission changes every
 * member's access at once. An owner does it (or decides what replaces it); the check reads it again.
 */
export async function revokeBasePermission(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const org = context.organization;
  return {
    outcome: 'remediation_required',
    appliedAt: now(),
    action: `base permission ${grant.entitlement} of ${org}: left for an owner to lower`,
    remediation: `An owner of ${org} sets the base permission below ${grant.entitlement} (Settings → Member privileges → Base permissions, or PATCH /orgs/${org} default_repository_permission), after giving the teams that need it their access.`,
  };
}

/** Present while the base permission still gives at least the grant's entitlement. */
export async function checkBasePermission(context: GitHubContext, grant: Grant): Promise<CheckResult> {
  const permission = await readBasePermission(context);
  const checkedAt = now();
  return permission !== 'none' && permissionAtLeast(permission, grant.entitlement)
    ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission }] }
    : { status: 'absent', checkedAt };
}
