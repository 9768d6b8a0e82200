import { createHash } from 'node:crypto';
import { MalformedRequestError } from './errors';

/** Systems a grant can come from. One connector per system. */
export const CONNECTOR_NAMES = ['github', 'aws'] as const;
export type ConnectorName = (typeof CONNECTOR_NAMES)[number];

/**
 * Who holds the access. `invitee`: someone invited who has not accepted yet; `deploy_key`: an SSH
 * key on a repository; `app`: a GitHub App (installation or bypass actor); `role`: everyone in a
 * role (org admins, a repository role) as a ruleset bypass actor; `repository`: a repository that
 * can read a secret or use a runner group; `environment`: the deployments to an environment, which
 * can read its secrets; `personal_access_token`: a fine-grained token approved for the org.
 * An organisation's base permission is held by the role `members` (every member).
 * AWS: `iam_user` and `iam_role` (principal = the ARN), `aws_account` (a whole account named in a
 * resource policy, `arn:aws:iam::999988887777:root`), `aws_service` (`lambda.amazonaws.com`),
 * `aws_anyone` (`*` in a resource policy), `oidc_subject` (a GitHub Actions OIDC `sub` pattern a
 * role trusts, e.g. `repo:acme/api:environment:production`).
 */
export const PRINCIPAL_TYPES = [
  'user',
  'team',
  'invitee',
  'deploy_key',
  'app',
  'role',
  'repository',
  'environment',
  'personal_access_token',
  'iam_user',
  'iam_role',
  'aws_account',
  'aws_service',
  'aws_anyone',
  'oidc_subject',
] as const;
export type PrincipalType = (typeof PRINCIPAL_TYPES)[number];

/**
 * What the access is to. Resource names: `acme` (organization), `acme/api` (repository, team as
 * `acme/platform`), `acme/api:production` (environment), `acme/api:main` (branch),
 * `acme/api/rulesets/42` or `acme/rulesets/7` (ruleset), `acme/secrets/NPM_TOKEN`,
 * `acme/api:production/secrets/DB_PASSWORD` (environment secret), `acme/variables/REGION`,
 * `acme/runner-groups/3` (runner group). AWS resources are named by their ARN: an `aws_secret`
 * `arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf`, an `iam_role`
 * `arn:aws:iam::111122223333:role/deploy-api`.
 */
export const RESOURCE_TYPES = [
  'organization',
  'repository',
  'team',
  'environment',
  'branch',
  'ruleset',
  'secret',
  'variable',
  'runner_group',
  'aws_secret',
  'iam_role',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/**
 * Every kind of access a connector reports. The kind decides how a grant is described, revoked
 * and checked; it is stored on the grant so nothing has to guess it from the grant's shape.
 */
export const GRANT_KINDS = [
  'organization_membership',
  'organization_base_permission',
  'team_membership',
  'team_repository',
  'user_repository',
  'organization_invitation',
  'repository_invitation',
  'deploy_key',
  'environment_reviewer',
  'branch_protection_bypass',
  'ruleset_bypass',
  'actions_secret_access',
  'actions_variable_access',
  'environment_secret',
  'runner_group_access',
  'app_installation',
  'personal_access_token',
  'secret_read',
  'oidc_role_trust',
] as const;
export type GrantKind = (typeof GRANT_KINDS)[number];

/**
 * Risk flags a connector puts on a grant: shown next to it in Slack and kept in the evidence.
 * The words a reviewer reads are in FLAG_DESCRIPTIONS.
 */
export const GRANT_FLAGS = [
  'outside_collaborator',
  'two_factor_disabled',
  'custom_role',
  'write_key_older_than_a_year',
  'write_key_never_used',
  'visible_to_all_repositories',
  'separation_of_duties',
  'self_review_allowed',
  'open_remediation',
  'no_expiry',
  'wildcard_subject',
  'no_audience_condition',
  'trusted_by_many_repositories',
  'cross_account',
  'any_principal',
] as const;
export type GrantFlag = (typeof GRANT_FLAGS)[number];

export const FLAG_DESCRIPTIONS: Record<GrantFlag, string> = {
  outside_collaborator: 'outside collaborator (not an org member)',
  two_factor_disabled: 'two-factor authentication is off',
  custom_role: 'custom repository role',
  write_key_older_than_a_year: 'write deploy key older than a year',
  write_key_never_used: 'write deploy key never used',
  visible_to_all_repositories: 'every repository in the org can use it',
  separation_of_duties:
    'separation of duties: can push to (or bypass protection of) the default branch and approve its own deployments',
  self_review_allowed: 'reviewers may approve their own deployments',
  open_remediation: 'a remediation from an earlier review is still open',
  no_expiry: 'never expires',
  wildcard_subject: 'the role trusts a wildcard subject: any matching repository, branch or environment',
  no_audience_condition: 'the trust policy does not check the token audience (aud)',
  trusted_by_many_repositories: 'the role is trusted by more than one repository',
  cross_account: 'the principal is in another AWS account',
  any_principal: 'the resource policy allows any principal (*)',
};

/** GitHub repository permissions, weakest first. */
export const REPOSITORY_PERMISSIONS = ['read', 'triage', 'write', 'maintain', 'admin'] as const;
export type RepositoryPermission = (typeof REPOSITORY_PERMISSIONS)[number];

/**
 * How the principal obtained the entitlement. This is also where a revocation acts:
 * - direct: granted to the principal itself (direct collaborator, org membership, team membership,
 *   a team's own access to a repository);
 * - team: a user's repository access that exists because they are in `team` (revoked by removing
 *   the team membership or the team's access, both reviewed as grants of their own);
 *   With `through`, the user is in a child team of `team` (nested teams inherit the parent's access);
 * - organization_base: every org member's base repository permission (a path effective access
 *   reports; the snapshot keeps one `organization_base_permission` grant for it, not a row per
 *   member and repository);
 * - visibility: a secret, variable or runner group every (private) repository can use because of
 *   its visibility setting, not because the repository was selected;
 * - resource_policy: an AWS resource's own policy (a secret's resource policy) names the principal;
 * - identity_policy: a policy attached to the principal allows it: `policy` is a managed policy's
 *   ARN or an inline policy as `<owner ARN>#<policy name>`; with `group`, the policy is attached to
 *   that IAM group (its name) and the user has it by membership;
 * - trust_policy: an IAM role's trust policy lets the principal assume the role;
 * - assumed_role: access the principal gets by assuming `role` (an OIDC subject reading what the
 *   role can read): derived from the trust grant and the role's own grant.
 */
export type Via =
  | { kind: 'direct' }
  | { kind: 'team'; team: string; through?: string }
  | { kind: 'organization_base'; organization: string }
  | { kind: 'visibility'; visibility: 'all' | 'private' }
  | { kind: 'resource_policy' }
  | { kind: 'identity_policy'; policy: string; group?: string }
  | { kind: 'trust_policy' }
  | { kind: 'assumed_role'; role: string };

export interface GrantKey {
  connector: ConnectorName;
  /** Which kind of access (named grantKind because store items use `kind` for the item type). */
  grantKind: GrantKind;
  resourceType: ResourceType;
  /** `acme` for the org, `acme/api` for a repo, `acme/platform` for a team (org/slug). */
  resource: string;
  principalType: PrincipalType;
  /** A user's login, or a team as `org/slug`. */
  principal: string;
  /** owner | member (org); maintainer | member (team); read … admin (repository). */
  entitlement: string;
  via: Via;
}

export interface Grant extends GrantKey {
  grantId: string;
  /**
   * False for access that only follows from another grant (a user's repo access via a team, or
   * via the org base permission). Such rows are in the inventory with `derivedFrom`; the review
   * asks about the grant they follow from, so nobody is asked the same question twice.
   */
  reviewable: boolean;
  /** Grant ids this access follows from, for non-reviewable grants. */
  derivedFrom: string[];
  /** The source's own record that justified this grant (trimmed to what explains it). */
  raw: Record<string, unknown>;
  /** Risk flags, sorted; empty when nothing stands out. */
  flags: GrantFlag[];
  /**
   * The person who benefits, when that is not the principal itself (a token's owner, an invitee's
   * login): nobody reviews access they benefit from.
   */
  holder?: string;
}

/** `direct`, `team:acme/platform`, `organization_base:acme`: the form used in CSVs and messages. */
export function viaLabel(via: Via): string {
  switch (via.kind) {
    case 'direct':
      return 'direct';
    case 'team':
      return via.through ? `team:${via.team} (through ${via.through})` : `team:${via.team}`;
    case 'organization_base':
      return `organization_base:${via.organization}`;
    case 'visibility':
      return `visibility:${via.visibility}`;
    case 'resource_policy':
      return 'resource_policy';
    case 'identity_policy':
      return via.group
        ? `identity_policy:${via.policy} (group ${via.group})`
        : `identity_policy:${via.policy}`;
    case 'trust_policy':
      return 'trust_policy';
    case 'assumed_role':
      return `assumed_role:${via.role}`;
  }
}

/** The inverse of viaLabel, for reading evidence back. */
export function viaFromLabel(label: string): Via {
  if (label === 'direct') return { kind: 'direct' };
  const nested = /^team:(\S+) \(through (\S+)\)$/.exec(label);
  if (nested) return { kind: 'team', team: nested[1] ?? '', through: nested[2] ?? '' };
  if (label.startsWith('team:')) return { kind: 'team', team: label.slice('team:'.length) };
  if (label === 'visibility:all' || label === 'visibility:private') {
    return { kind: 'visibility', visibility: label === 'visibility:all' ? 'all' : 'private' };
  }
  if (label === 'resource_policy') return { kind: 'resource_policy' };
  if (label === 'trust_policy') return { kind: 'trust_policy' };
  const grouped = /^identity_policy:(\S+) \(group (\S+)\)$/.exec(label);
  if (grouped) return { kind: 'identity_policy', policy: grouped[1] ?? '', group: grouped[2] ?? '' };
  if (label.startsWith('identity_policy:')) {
    return { kind: 'identity_policy', policy: label.slice('identity_policy:'.length) };
  }
  if (label.startsWith('assumed_role:'))
    return { kind: 'assumed_role', role: label.slice('assumed_role:'.length) };
  if (label.startsWith('organization_base:')) {
    return { kind: 'organization_base', organization: label.slice('organization_base:'.length) };
  }
  throw new MalformedRequestError(`unknown via ${label}`);
}

/** Words a reviewer reads: "directly", "via team acme/platform", "via acme's base permission". */
export function describeVia(via: Via): string {
  switch (via.kind) {
    case 'direct':
      return 'directly';
    case 'team':
      return via.through ? `via team ${via.team} (through ${via.through})` : `via team ${via.team}`;
    case 'organization_base':
      return `via ${via.organization}'s base permission`;
    case 'visibility':
      return via.visibility === 'all'
        ? 'because it is visible to all repositories'
        : 'because it is visible to all private repositories';
    case 'resource_policy':
      return "via the resource's own policy";
    case 'identity_policy':
      return via.group
        ? `via identity policy ${via.policy} of group ${via.group}`
        : `via identity policy ${via.policy}`;
    case 'trust_policy':
      return "via the role's trust policy";
    case 'assumed_role':
      return `by assuming role ${via.role}`;
  }
}

/**
 * Stable id: the same access (connector, resource, principal, entitlement, via) has the same id
 * every quarter, which is what makes idempotent writes and "new since last review" possible.
 * GitHub names are lower-cased because GitHub logins and slugs are case-insensitive; AWS names are
 * kept as they are, because secret names and OIDC subjects are case-sensitive.
 */
export function grantIdOf(key: GrantKey): string {
  const fold = key.connector === 'github' ? (value: string) => value.toLowerCase() : (value: string) => value;
  const parts = [
    key.connector,
    key.resourceType,
    fold(key.resource),
    key.principalType,
    fold(key.principal),
    key.entitlement,
    fold(viaLabel(key.via)),
  ];
  return `g_${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)}`;
}

export function makeGrant(
  key: GrantKey,
  extra: {
    reviewable?: boolean;
    derivedFrom?: string[];
    raw?: Record<string, unknown>;
    flags?: readonly GrantFlag[];
    holder?: string;
  } = {},
): Grant {
  return {
    ...key,
    grantId: grantIdOf(key),
    reviewable: extra.reviewable ?? true,
    derivedFrom: extra.derivedFrom ?? [],
    raw: extra.raw ?? {},
    flags: [...new Set(extra.flags ?? [])].sort(),
    ...(extra.holder ? { holder: extra.holder } : {}),
  };
}

/** The grant with `flag` added (a new object; grants are never changed in place). */
export function withFlag(grant: Grant, flag: GrantFlag): Grant {
  return grant.flags.includes(flag) ? grant : { ...grant, flags: [...grant.flags, flag].sort() };
}

export function permissionRank(permission: string): number {
  return REPOSITORY_PERMISSIONS.indexOf(permission as RepositoryPermission);
}

/** True if `held` gives at least what `wanted` gives. Unknown permissions never satisfy. */
export function permissionAtLeast(held: string, wanted: string): boolean {
  const heldRank = permissionRank(held);
  const wantedRank = permissionRank(wanted);
  return heldRank >= 0 && wantedRank >= 0 && heldRank >= wantedRank;
}

/**
 * `acme/api` of `acme/api`, `acme/api:production`, `acme/api:main`, `acme/api/rulesets/4`,
 * `acme/api:prod/secrets/X`; undefined for organisation-wide resources (org secrets, rulesets…).
 */
export function repositoryOfResource(grant: Pick<Grant, 'resourceType' | 'resource'>): string | undefined {
  const { resourceType, resource } = grant;
  if (resourceType === 'repository') return resource;
  if (resourceType === 'environment' || resourceType === 'branch')
    return resource.slice(0, resource.indexOf(':'));
  if (resourceType === 'ruleset') return /^([^/]+\/[^/]+)\/rulesets\/\d+$/.exec(resource)?.[1];
  if (resourceType === 'secret' && resource.includes(':')) return resource.slice(0, resource.indexOf(':'));
  return undefined;
}

/** The organisation every resource name starts with: `acme` of `acme/api`, `acme/api:production`, `acme`. */
export function organizationOfResource(resource: string): string {
  return resource.split(/[/:]/)[0] ?? '';
}

/** The AWS account id in an ARN (`arn:aws:iam::111122223333:role/x` → `111122223333`), or undefined. */
export function accountOfArn(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
}

/**
 * The built-in role a repository grant compares as: its entitlement, or a custom role's base role
 * (kept in `raw.baseRole`); undefined when neither is a built-in role.
 */
export function comparablePermission(
  grant: Pick<Grant, 'entitlement' | 'raw'>,
): RepositoryPermission | undefined {
  if (permissionRank(grant.entitlement) >= 0) return grant.entitlement as RepositoryPermission;
  const base = grant.raw.baseRole;
  return typeof base === 'string' && permissionRank(base) >= 0 ? (base as RepositoryPermission) : undefined;
}
