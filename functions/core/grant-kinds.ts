import { describeVia, FLAG_DESCRIPTIONS, type Grant, type GrantKind } from './grant';

/**
 * What each kind of grant lets its holder do, and what revoking it does, in words a reviewer reads
 * in Slack and an auditor reads in the evidence. One entry per kind, so a new kind cannot be added
 * without saying both.
 */
interface KindText {
  /** A short name for the kind: "deploy key". */
  label: string;
  /** What the access allows, said of this grant. */
  allows(grant: Grant): string;
  /** What a revoke does at the source; for kinds no API removes, what a person will be asked to do. */
  revokeEffect(grant: Grant): string;
}

const raw = (grant: Grant, field: string): string | undefined => {
  const value = grant.raw[field];
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
};

const visibilityGrant = (grant: Grant) => grant.via.kind === 'visibility';

export const KIND_TEXT: Record<GrantKind, KindText> = {
  organization_membership: {
    label: 'organization role',
    allows: (g) =>
      g.entitlement === 'owner'
        ? `full control of ${g.resource}: settings, members, every repository, billing`
        : `membership of ${g.resource}, with its base permission on every repository`,
    revokeEffect: (g) =>
      g.entitlement === 'owner'
        ? `${g.principal} is demoted from owner to member of ${g.resource}.`
        : `${g.principal} is removed from ${g.resource}, with their team memberships and the access those give.`,
  },
  organization_base_permission: {
    label: 'organization base permission',
    allows: (g) =>
      `every member of ${g.resource} has ${g.entitlement} on every repository of ${g.resource}, now and to come`,
    revokeEffect: (g) =>
      `An owner of ${g.resource} lowers its base permission below ${g.entitlement} (Settings → Member privileges → Base permissions); access people still need then comes from teams or direct grants. Nothing is changed automatically: it affects every member at once.`,
  },
  team_membership: {
    label: 'team membership',
    allows: (g) =>
      g.entitlement === 'maintainer'
        ? `managing team ${g.resource}: its members and settings`
        : `everything team ${g.resource} can do`,
    revokeEffect: (g) =>
      g.entitlement === 'maintainer'
        ? `${g.principal} becomes a plain member of team ${g.resource}.`
        : `${g.principal} is removed from team ${g.resource} and loses the repository access it gives.`,
  },
  team_repository: {
    label: 'team access to a repository',
    allows: (g) => `every member of team ${g.principal} has ${g.entitlement} on ${g.resource}`,
    revokeEffect: (g) => `Team ${g.principal} loses ${g.entitlement} on ${g.resource}.`,
  },
  user_repository: {
    label: 'repository access',
    allows: (g) => `${g.entitlement} on repository ${g.resource}`,
    revokeEffect: (g) =>
      `${g.principal} loses ${g.entitlement} on ${g.resource} (${describeVia(g.via)}). Access they also get another way stays, and is reported.`,
  },
  organization_invitation: {
    label: 'pending organization invitation',
    allows: (g) => `joins ${g.resource} as ${g.entitlement} once the invitation is accepted`,
    revokeEffect: (g) => `The invitation of ${g.principal} to ${g.resource} is cancelled.`,
  },
  repository_invitation: {
    label: 'pending repository invitation',
    allows: (g) => `${g.entitlement} on ${g.resource} once the invitation is accepted`,
    revokeEffect: (g) => `The invitation of ${g.principal} to ${g.resource} is cancelled.`,
  },
  deploy_key: {
    label: 'deploy key',
    allows: (g) =>
      g.entitlement === 'write'
        ? `anyone holding this SSH key can push to ${g.resource}, bypassing user accounts`
        : `anyone holding this SSH key can clone ${g.resource}`,
    revokeEffect: (g) => `The deploy key is deleted from ${g.resource}; whatever uses it stops working.`,
  },
  environment_reviewer: {
    label: 'deployment approver',
    allows: (g) =>
      `approves deployments to environment ${g.resource}${g.raw.preventSelfReview === true ? '' : ', including their own'}`,
    revokeEffect: (g) =>
      `${g.principal} is removed from the required reviewers of ${g.resource}; the other reviewers and rules stay.`,
  },
  branch_protection_bypass: {
    label: 'branch protection allowance',
    allows: (g) =>
      g.entitlement === 'bypass_protection'
        ? `every ${g.principal} of the repository is exempt from the protection of ${g.resource}`
        : g.entitlement === 'push'
          ? `may push to protected branch ${g.resource}`
          : `may merge into protected branch ${g.resource} without the required reviews`,
    revokeEffect: (g) =>
      g.entitlement === 'bypass_protection'
        ? `The protection of ${g.resource} is set to include administrators (enforce_admins); its rules stay.`
        : `${g.principal} is removed from the ${g.entitlement === 'push' ? 'push allowances' : 'review bypass list'} of ${g.resource}; the rest of the protection stays.`,
  },
  ruleset_bypass: {
    label: 'ruleset bypass',
    allows: (g) =>
      `bypasses ruleset ${raw(g, 'rulesetName') ?? g.resource}${g.entitlement === 'bypass' ? ' at any time' : ' when merging a pull request'}`,
    revokeEffect: (g) =>
      `${g.principal} is removed from the bypass list of ruleset ${raw(g, 'rulesetName') ?? g.resource}; the rules stay.`,
  },
  actions_secret_access: {
    label: 'Actions secret access',
    allows: (g) => `workflows in ${g.principal} can read organization secret ${g.resource}`,
    revokeEffect: (g) =>
      visibilityGrant(g)
        ? `No API narrows this safely: an org owner is asked to set ${g.resource} to selected repositories; the review records it as a remediation and checks it again.`
        : `${g.principal} is removed from the repositories selected for ${g.resource}.`,
  },
  actions_variable_access: {
    label: 'Actions variable access',
    allows: (g) => `workflows in ${g.principal} can read organization variable ${g.resource}`,
    revokeEffect: (g) =>
      visibilityGrant(g)
        ? `An org owner is asked to set ${g.resource} to selected repositories (a remediation item, checked again).`
        : `${g.principal} is removed from the repositories selected for ${g.resource}.`,
  },
  environment_secret: {
    label: 'environment secret',
    allows: (g) => `jobs deploying to ${g.principal} can read secret ${g.resource}`,
    revokeEffect: (g) =>
      `A repository admin is asked to delete ${g.resource} (a remediation item, open until the secret is gone).`,
  },
  runner_group_access: {
    label: 'self-hosted runner group',
    allows: (g) => `workflows in ${g.principal} can run jobs on runner group ${g.resource}`,
    revokeEffect: (g) =>
      visibilityGrant(g)
        ? `An org owner is asked to limit ${g.resource} to selected repositories (a remediation item, checked again).`
        : `${g.principal} is removed from runner group ${g.resource}.`,
  },
  app_installation: {
    label: 'GitHub App installation',
    allows: (g) => `app ${g.principal} acts on ${g.resource} with ${g.entitlement}`,
    revokeEffect: (g) =>
      `An org owner is asked to uninstall or narrow app ${g.principal} (a remediation item, checked again).`,
  },
  personal_access_token: {
    label: 'fine-grained personal access token',
    allows: (g) => `${g.principal} acts on ${g.resource} with ${g.entitlement}`,
    revokeEffect: (g) =>
      `The token's access to ${g.resource} is revoked; its owner can no longer use it here.`,
  },
  secret_read: {
    label: 'AWS secret read access',
    allows: (g) =>
      `${g.principal} can read secret ${raw(g, 'secretName') ?? g.resource}${
        raw(g, 'accountId') ? ` in account ${accountLabel(g)}` : ''
      } (GetSecretValue${raw(g, 'kmsKey') ? ` and kms:Decrypt on ${raw(g, 'kmsKey')}` : ''})`,
    revokeEffect: (g) =>
      g.via.kind === 'resource_policy'
        ? `${g.principal} is removed from the resource policy of secret ${raw(g, 'secretName') ?? g.resource}; its other statements stay, and the policy before and after is kept in the evidence.`
        : g.via.kind === 'identity_policy' && g.raw.automaticRemediation === true
          ? `Identity policy ${g.via.policy} is narrowed so it no longer allows reading ${raw(g, 'secretName') ?? g.resource} (its path is configured for automatic remediation); every principal it is attached to loses that, and the policy before and after is kept in the evidence.`
          : g.via.kind === 'identity_policy'
            ? `The owner of identity policy ${g.via.policy}${g.via.group ? ` (attached to group ${g.via.group})` : ''} is asked to narrow it (a remediation item, checked again): editing a shared policy automatically could cut others' access.`
            : `${g.principal} loses read access to ${raw(g, 'secretName') ?? g.resource}.`,
  },
  oidc_role_trust: {
    label: 'GitHub OIDC deploy role',
    allows: (g) =>
      `GitHub Actions workflows whose token subject matches ${g.principal} can assume role ${
        raw(g, 'roleName') ?? g.resource
      }${raw(g, 'accountId') ? ` in account ${accountLabel(g)}` : ''}, and use everything it can do`,
    revokeEffect: (g) =>
      `The trust policy of role ${raw(g, 'roleName') ?? g.resource} is narrowed so that subject ${g.principal} no longer matches; other subjects stay, and the policy before and after is kept in the evidence.`,
  },
};

/** `production (111122223333)` when the account has a configured name, else the id. */
function accountLabel(grant: Grant): string {
  const id = raw(grant, 'accountId') ?? '';
  const name = raw(grant, 'accountName');
  return name ? `${name} (${id})` : id;
}

/** The last segment of an IAM ARN's resource (`deploy-api` of `arn:aws:iam::1:role/ci/deploy-api`). */
const iamName = (arn: string) => arn.split(':').slice(5).join(':').split('/').at(-1) ?? arn;

/**
 * Who holds the grant, as a reviewer recognises it: AWS principals by type, name and account
 * instead of a bare ARN (the ARN stays in the evidence); GitHub names as they are.
 */
export function describePrincipal(grant: Grant): string {
  const account = grant.principal.split(':')[4];
  switch (grant.principalType) {
    case 'team':
      return `team ${grant.principal}`;
    case 'iam_user':
      return `IAM user ${iamName(grant.principal)} (account ${account})`;
    case 'iam_role':
      return `IAM role ${iamName(grant.principal)} (account ${account})`;
    case 'aws_account':
      return `every principal account ${account} allows`;
    case 'aws_service':
      return `AWS service ${grant.principal}`;
    case 'aws_anyone':
      return 'anyone (*)';
    case 'oidc_subject':
      return `GitHub Actions OIDC subject ${grant.principal}`;
    default:
      return grant.principal;
  }
}

/** An AWS secret or role's name (not its ARN) and account; undefined for other resources. */
function awsResourceName(
  grant: Grant,
): { noun: 'secret' | 'role'; name: string; account: string } | undefined {
  const account = grant.resource.split(':')[4] ?? '';
  if (grant.resourceType === 'aws_secret') {
    return { noun: 'secret', name: raw(grant, 'secretName') ?? grant.resource, account };
  }
  if (grant.resourceType === 'iam_role') {
    return { noun: 'role', name: raw(grant, 'roleName') ?? iamName(grant.resource), account };
  }
  return undefined;
}

/** What the grant is on, as a reviewer recognises it: an AWS secret or role by name and account. */
export function describeResource(grant: Grant): string {
  const aws = awsResourceName(grant);
  if (!aws) return `${grant.resourceType.replaceAll('_', ' ')} ${grant.resource}`;
  return `${aws.noun === 'secret' ? 'AWS secret' : 'IAM role'} ${aws.name} (${accountLabel(grant) || aws.account})`;
}

/**
 * The principal and resource as a one-line progress or report message names them: GitHub names as
 * they are (they are short), AWS ARNs as `IAM user carol (222233334444)` and
 * `secret staging/api/database (222233334444)`. The evidence keeps the full ARNs.
 */
export function briefNames(grant: Grant): { principal: string; resource: string } {
  if (grant.connector === 'github') return { principal: grant.principal, resource: grant.resource };
  const aws = awsResourceName(grant);
  return {
    principal: describePrincipal(grant),
    resource: aws ? `${aws.noun} ${aws.name} (${aws.account})` : grant.resource,
  };
}

export function describeKind(grant: Grant): string {
  return KIND_TEXT[grant.grantKind]?.label ?? grant.grantKind;
}

export function describeAllows(grant: Grant): string {
  return KIND_TEXT[grant.grantKind]?.allows(grant) ?? `${grant.entitlement} on ${grant.resource}`;
}

export function describeRevokeEffect(grant: Grant): string {
  return (
    KIND_TEXT[grant.grantKind]?.revokeEffect(grant) ??
    `${grant.principal} loses ${grant.entitlement} on ${grant.resource}.`
  );
}

export function describeFlags(grant: Grant): string[] {
  return grant.flags.map((flag) => FLAG_DESCRIPTIONS[flag] ?? flag);
}

const day = (value: unknown) => (typeof value === 'string' ? value.slice(0, 10) : undefined);

/**
 * The facts from the source a reviewer needs to decide, said briefly: who added a deploy key and
 * whether it is used, which branches may deploy, when a token expires. Empty when the kind has none.
 */
export function describeDetails(grant: Grant): string {
  const r = grant.raw;
  const parts: string[] = [];
  switch (grant.grantKind) {
    case 'deploy_key':
      if (typeof r.addedBy === 'string') parts.push(`added by ${r.addedBy}`);
      if (day(r.createdAt))
        parts.push(
          `created ${day(r.createdAt)}${typeof r.ageDays === 'number' ? ` (${r.ageDays} days ago)` : ''}`,
        );
      parts.push(r.lastUsed ? `last used ${day(r.lastUsed)}` : 'never used');
      break;
    case 'organization_invitation':
    case 'repository_invitation':
      if (typeof r.inviter === 'string') parts.push(`invited by ${r.inviter}`);
      if (day(r.createdAt)) parts.push(`on ${day(r.createdAt)}`);
      break;
    case 'environment_reviewer': {
      const branches = r.deploymentBranches;
      parts.push(
        branches === 'protected'
          ? 'deploys from protected branches'
          : Array.isArray(branches)
            ? `deploys from ${branches.join(', ')}`
            : 'deploys from any branch',
      );
      if (typeof r.waitTimer === 'number' && r.waitTimer > 0) parts.push(`waits ${r.waitTimer} min`);
      break;
    }
    case 'branch_protection_bypass':
      if (typeof r.requiredApprovals === 'number') parts.push(`${r.requiredApprovals} approvals required`);
      parts.push(r.enforceAdmins === true ? 'admins included' : 'admins exempt');
      break;
    case 'ruleset_bypass':
      if (typeof r.rulesetName === 'string')
        parts.push(`ruleset "${r.rulesetName}" (${String(r.enforcement ?? 'active')})`);
      if (Array.isArray(r.include)) parts.push(`on ${r.include.join(', ')}`);
      break;
    case 'personal_access_token':
      parts.push(r.expiresAt ? `expires ${day(r.expiresAt)}` : 'never expires');
      parts.push(r.lastUsedAt ? `last used ${day(r.lastUsedAt)}` : 'never used');
      if (typeof r.repositorySelection === 'string') parts.push(`repositories: ${r.repositorySelection}`);
      break;
    case 'app_installation':
      if (typeof r.repositorySelection === 'string') parts.push(`repositories: ${r.repositorySelection}`);
      if (day(r.installedAt)) parts.push(`installed ${day(r.installedAt)}`);
      break;
    case 'actions_secret_access':
    case 'actions_variable_access':
    case 'runner_group_access':
      if (typeof r.visibility === 'string') parts.push(`visibility: ${r.visibility}`);
      break;
    case 'secret_read':
      if (Array.isArray(r.statements) && r.statements.length > 0)
        parts.push(`allowed by ${r.statements.join(', ')}`);
      if (typeof r.kmsKey === 'string') parts.push(`KMS key ${r.kmsKey}`);
      if (Array.isArray(r.kmsStatements) && r.kmsStatements.length > 0)
        parts.push(`decrypt allowed by ${r.kmsStatements.join(', ')}`);
      if (typeof r.region === 'string') parts.push(`region ${r.region}`);
      if (day(r.lastAccessed)) parts.push(`secret last read ${day(r.lastAccessed)}`);
      break;
    case 'oidc_role_trust':
      if (Array.isArray(r.audiences)) parts.push(`audience ${r.audiences.join(', ') || 'not checked'}`);
      if (typeof r.repositories === 'number') parts.push(`role trusted by ${r.repositories} repositories`);
      if (Array.isArray(r.readableSecrets))
        parts.push(
          r.readableSecrets.length > 0
            ? `role can read ${r.readableSecrets.length} secret(s): ${r.readableSecrets.join(', ')}`
            : 'role can read no reviewed secret',
        );
      break;
    default:
      break;
  }
  if (Array.isArray(r.separationOfDuties) && r.separationOfDuties.length > 0) {
    parts.push(`separation of duties: ${r.separationOfDuties.join('; ')}`);
  }
  return parts.join(' · ');
}
