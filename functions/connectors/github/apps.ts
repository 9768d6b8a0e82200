import { type Grant, type GrantFlag, makeGrant } from '../../core/grant';
import type { CheckResult, RevokeResult } from '../connector';
import type { GitHubAccessKind } from './access-kind';
import { type GitHubContext, now } from './context';
import { appInstallationKey, coversPermissions, permissionSummary } from './keys';
import { organizationList } from './organization-lists';

/*
 * GitHub Apps installed on the organisation: each installation acts with its permission set on
 * the repositories it was given (all, or a selection). The entitlement is the permission set, so a
 * widened set is a new grant a reviewer sees as new. No organisation-scoped API uninstalls an app
 * (only the app itself, with its own JWT, can), so revoking is a remediation an org owner does.
 */

interface Installed {
  id: number;
  appId: number;
  slug: string;
  permissions: Record<string, string>;
  repositorySelection: string;
  createdAt: string;
  updatedAt: string;
  suspendedAt: string | null;
}

/** The permission map without the fields GitHub leaves out (typed as optional). */
function definedPermissions(permissions: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, level] of Object.entries(permissions)) if (level !== undefined) out[name] = level;
  return out;
}

async function listInstallations(context: GitHubContext): Promise<Installed[]> {
  const org = context.organization;
  const answer = await organizationList(context, `GET /orgs/${org}/installations`, () =>
    context.octokit.paginate('GET /orgs/{org}/installations', { org, per_page: 100 }),
  );
  return answer.map((installation) => ({
    id: installation.id,
    appId: installation.app_id,
    slug: installation.app_slug,
    permissions: definedPermissions(installation.permissions as Record<string, string | undefined>),
    repositorySelection: installation.repository_selection,
    createdAt: installation.created_at,
    updatedAt: installation.updated_at,
    suspendedAt: installation.suspended_at,
  }));
}

async function* snapshotInstallations(context: GitHubContext): AsyncGenerator<Grant> {
  for (const installation of await listInstallations(context)) {
    const flags: GrantFlag[] =
      installation.repositorySelection === 'all' ? ['visible_to_all_repositories'] : [];
    yield makeGrant(appInstallationKey(context.organization, installation.slug, installation.permissions), {
      raw: {
        installationId: installation.id,
        appId: installation.appId,
        repositorySelection: installation.repositorySelection,
        installedAt: installation.createdAt,
        updatedAt: installation.updatedAt,
        suspendedAt: installation.suspendedAt,
      },
      flags,
    });
  }
}

/** The installation of the grant's app, by slug (an app has at most one installation per org). */
async function findInstallation(context: GitHubContext, grant: Grant): Promise<Installed | undefined> {
  const slug = grant.principal.toLowerCase();
  return (await listInstallations(context)).find((installation) => installation.slug.toLowerCase() === slug);
}

async function revokeInstallation(context: GitHubContext, grant: Grant): Promise<RevokeResult> {
  const org = context.organization;
  const call = `GET /orgs/${org}/installations`;
  const installation = await findInstallation(context, grant);
  if (!installation) {
    return {
      outcome: 'already_absent',
      appliedAt: now(),
      action: `${call}: app ${grant.principal} is not installed on ${org}; nothing to remove`,
    };
  }
  const current = permissionSummary(installation.permissions);
  // Installed is installed: whatever its permissions are now, only a person can remove it.
  const changed = current === grant.entitlement ? '' : ` (it now holds ${current})`;
  return {
    outcome: 'remediation_required',
    appliedAt: now(),
    action: `${call}: app ${grant.principal} is installed (installation ${installation.id})${changed}; no API lets the organization uninstall it`,
    remediation: `An organization owner uninstalls the GitHub App ${grant.principal} from ${org}, or narrows its repository access, in Settings → GitHub Apps → ${grant.principal} → Configure (installation ${installation.id}). Narrowing its permissions (${grant.entitlement}) needs the app's owner to change them and ${org} to accept.`,
  };
}

/**
 * Present while the app is installed (suspended or not) and still holds every reviewed permission at
 * the reviewed level or higher: permissions that grew since the review are still the access reviewed.
 */
async function checkInstallation(context: GitHubContext, grant: Grant): Promise<CheckResult> {
  const installation = await findInstallation(context, grant);
  const checkedAt = now();
  if (!installation) return { status: 'absent', checkedAt };
  // A suspended app is still installed, and any owner can resume it: the access is not gone.
  const current = permissionSummary(installation.permissions);
  const state = installation.suspendedAt === null ? current : `${current} (suspended)`;
  return coversPermissions(installation.permissions, grant.entitlement)
    ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission: state }] }
    : { status: 'absent', checkedAt };
}

export const appInstallations: GitHubAccessKind = {
  grantKinds: ['app_installation'],
  snapshot: (context) => snapshotInstallations(context),
  revoke: revokeInstallation,
  check: checkInstallation,
};
