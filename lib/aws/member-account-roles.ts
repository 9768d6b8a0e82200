import { Duration, Stack, Validations } from 'aws-cdk-lib';
import {
  AccountPrincipal,
  Effect,
  type IRole,
  PolicyDocument,
  PolicyStatement,
  Role,
} from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type {
  IDENTITY_POLICY_REMEDIATION_ACTIONS,
  READ_ACTIONS,
  REVOKE_ACTIONS,
} from '../../functions/connectors/aws/permissions';
import { hubRoleArnPattern, type MemberRoleKind } from './hub-role-paths';

/**
 * The roles a member AWS account deploys so that the hub's access-review functions can review it:
 * a read role (snapshot, verify) and, only where automatic revocation is wanted, a revoke role
 * (apply). The actions come from functions/connectors/aws/permissions.ts, the connector's one list.
 */

export const DEFAULT_READ_ROLE_NAME = 'access-review-read';
export const DEFAULT_REVOKE_ROLE_NAME = 'access-review-revoke';

/** What an action is authorized against: `any` only where IAM offers no resource-level scoping. */
export type ActionScope = 'any' | 'role' | 'user' | 'group' | 'policy' | 'secret' | 'key';

/**
 * The resource each action the roles hold is scoped to. Typed by the connector's lists, so an action
 * added there does not compile until it is placed here (and the tests check each scope against the
 * Service Authorization Reference data: `any` exactly for the wildcard-only actions).
 */
export const READ_ACTION_SCOPES: Readonly<Record<(typeof READ_ACTIONS)[number], ActionScope>> = {
  'iam:GetAccountAuthorizationDetails': 'any',
  'iam:GetRole': 'role',
  'iam:GetPolicy': 'policy',
  'iam:GetPolicyVersion': 'policy',
  'iam:GetRolePolicy': 'role',
  'iam:GetUserPolicy': 'user',
  'iam:GetGroupPolicy': 'group',
  'iam:ListOpenIDConnectProviders': 'any',
  'secretsmanager:ListSecrets': 'any',
  'secretsmanager:DescribeSecret': 'secret',
  'secretsmanager:GetResourcePolicy': 'secret',
  'kms:DescribeKey': 'key',
  'kms:GetKeyPolicy': 'key',
};

export const REVOKE_ACTION_SCOPES: Readonly<Record<(typeof REVOKE_ACTIONS)[number], ActionScope>> = {
  'secretsmanager:PutResourcePolicy': 'secret',
  'secretsmanager:DeleteResourcePolicy': 'secret',
  'iam:UpdateAssumeRolePolicy': 'role',
};

type IamScope = 'role' | 'user' | 'group' | 'policy';

/** Identity-policy remediation: only under the configured IAM paths, on the kind of entity the action edits. */
export const REMEDIATION_ACTION_SCOPES: Readonly<
  Record<(typeof IDENTITY_POLICY_REMEDIATION_ACTIONS)[number], IamScope>
> = {
  'iam:CreatePolicyVersion': 'policy',
  'iam:DeletePolicyVersion': 'policy',
  'iam:ListPolicyVersions': 'policy',
  'iam:PutRolePolicy': 'role',
  'iam:PutUserPolicy': 'user',
  'iam:PutGroupPolicy': 'group',
};

/**
 * Denied to both roles whatever else is ever attached to them: reading a secret's value, directly or
 * in a batch, or decrypting with its key (ReEncryptFrom would move a ciphertext to a key the caller
 * can decrypt with). The review needs who CAN read a secret, never what it holds.
 */
export const SECRET_VALUE_ACTIONS = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:BatchGetSecretValue',
  'kms:Decrypt',
  'kms:ReEncryptFrom',
] as const;

/**
 * Denied to both roles on the two access-review roles themselves: the revoke role may narrow any
 * role's trust policy and, under the remediation paths, write inline policies; it must never
 * rewrite its own or the read role's trust or permissions (a configured path of `/` would
 * otherwise include them).
 */
export const SELF_MODIFICATION_ACTIONS = [
  'iam:UpdateAssumeRolePolicy',
  'iam:PutRolePolicy',
  'iam:DeleteRolePolicy',
  'iam:AttachRolePolicy',
  'iam:DetachRolePolicy',
  'iam:PutRolePermissionsBoundary',
  'iam:DeleteRolePermissionsBoundary',
  'iam:UpdateRole',
  'iam:UpdateRoleDescription',
] as const;

export interface RoleNaming {
  /** IAM role name (fixed, so that the configuration's ARN is known before deploying). */
  name: string;
  /** IAM path of the role. Default `/`. */
  path?: string;
}

export interface AccessReviewMemberAccountRolesProps {
  /** The account the access-review stack (the hub) runs in. */
  hubAccountId: string;
  /** When set, both roles require it as sts:ExternalId (the config's `aws.accounts[].externalId`). */
  externalId?: string;
  /** Default `access-review-read` at `/`. */
  readRole?: RoleNaming;
  /** Deploy the revoke role too. Without it, every AWS revocation becomes a remediation item. Default false. */
  revoke?: boolean;
  /** Default `access-review-revoke` at `/`. */
  revokeRole?: RoleNaming;
  /**
   * IAM paths (`/access-review-managed/`) under which the revoke role may write identity policies
   * (the config's `aws.automaticRemediation.identityPolicyPaths`). None: it writes no identity policy.
   */
  identityPolicyPaths?: readonly string[];
}

/** The member account's read role and, optionally, its revoke role, trusting only the hub's functions. */
export class AccessReviewMemberAccountRoles extends Construct {
  readonly readRole: IRole;
  readonly revokeRole: IRole | undefined;

  constructor(scope: Construct, id: string, props: AccessReviewMemberAccountRolesProps) {
    super(scope, id);
    if (!/^\d{12}$/.test(props.hubAccountId)) {
      throw new Error(`hubAccountId "${props.hubAccountId}" is not a 12-digit AWS account id`);
    }
    const stack = Stack.of(this);
    const naming = (given: RoleNaming | undefined, name: string): Required<RoleNaming> => ({
      name: given?.name ?? name,
      path: given?.path ?? '/',
    });
    const readNaming = naming(props.readRole, DEFAULT_READ_ROLE_NAME);
    const revokeNaming = naming(props.revokeRole, DEFAULT_REVOKE_ROLE_NAME);
    const roleArn = (naming: Required<RoleNaming>) =>
      `arn:${stack.partition}:iam::${stack.account}:role${naming.path}${naming.name}`;
    const ownRoles = [roleArn(readNaming), ...(props.revoke ? [roleArn(revokeNaming)] : [])];
    const guards = guardStatements(ownRoles);

    this.readRole = this.role('ReadRole', 'read', readNaming, props, readGrants(stack), guards);
    this.revokeRole = props.revoke
      ? this.role(
          'RevokeRole',
          'revoke',
          revokeNaming,
          props,
          [
            ...readGrants(stack),
            ...revokeGrants(stack),
            ...remediationGrants(stack, props.identityPolicyPaths ?? []),
          ],
          guards,
        )
      : undefined;
  }

  private role(
    id: string,
    kind: MemberRoleKind,
    naming: Required<RoleNaming>,
    props: AccessReviewMemberAccountRolesProps,
    grants: Grant[],
    guards: PolicyStatement[],
  ): Role {
    const stack = Stack.of(this);
    // The hub account as principal, narrowed to its function roles under the path of this kind:
    // the hub's roles have CloudFormation-generated names (see hub-role-paths.ts).
    const principal = new AccountPrincipal(props.hubAccountId).withConditions({
      ArnLike: { 'aws:PrincipalArn': hubRoleArnPattern(stack.partition, props.hubAccountId, kind) },
    });
    const role = new Role(this, id, {
      roleName: naming.name,
      path: naming.path,
      description:
        kind === 'read'
          ? 'access-review: read-only snapshot and verification of IAM, Secrets Manager and KMS access'
          : 'access-review: revokes access removed in a review (secret resource policies, role trust policies)',
      assumedBy: principal,
      ...(props.externalId ? { externalIds: [props.externalId] } : {}),
      maxSessionDuration: Duration.hours(1),
      inlinePolicies: { [kind]: new PolicyDocument({ statements: [...allowStatements(grants), ...guards] }) },
    });
    acknowledgeWildcards(role, grants);
    return role;
  }
}

/** A resource an Allow statement names, and why the role needs all of it (the cdk-nag acknowledgement). */
interface ScopedResource {
  arn: string;
  why: string;
}

const THIS_ACCOUNT = 'the account id limits it to this account';

function scopeResources(stack: Stack, scope: ActionScope): ScopedResource[] {
  const iam = `arn:${stack.partition}:iam::${stack.account}`;
  switch (scope) {
    case 'any':
      return [{ arn: '*', why: 'IAM authorizes these actions only on "*" (no resource-level scoping)' }];
    case 'role':
      return [
        {
          arn: `${iam}:role/*`,
          why: `any role of the account may hold access under review (its trust policy, as GitHub OIDC deploy roles do, or an inline policy), so none can be left out; ${THIS_ACCOUNT}`,
        },
      ];
    case 'user':
    case 'group':
      return [
        {
          arn: `${iam}:${scope}/*`,
          why: `any ${scope} of the account may hold an inline policy that reaches a secret, so none can be left out; ${THIS_ACCOUNT}`,
        },
      ];
    case 'policy':
      return [
        {
          arn: `${iam}:policy/*`,
          why: `any customer managed policy of the account may be attached where it reaches a secret, so none can be left out; ${THIS_ACCOUNT}`,
        },
        {
          arn: `arn:${stack.partition}:iam::aws:policy/*`,
          why: 'AWS managed policies attached in the account grant access too; their documents are read, never changed',
        },
      ];
    case 'secret':
      return [
        {
          arn: `arn:${stack.partition}:secretsmanager:*:${stack.account}:secret:*`,
          why: `every secret of the account, in any reviewed region, is in scope; ${THIS_ACCOUNT}, and reading a value stays explicitly denied`,
        },
      ];
    case 'key':
      return [
        {
          arn: `arn:${stack.partition}:kms:*:${stack.account}:key/*`,
          why: `the key policy of a secret's KMS key decides who can decrypt it; ${THIS_ACCOUNT}, and kms:Decrypt stays explicitly denied`,
        },
      ];
  }
}

interface Grant {
  actions: string[];
  resources: ScopedResource[];
}

/** One grant per scope, in the order the scopes first appear. */
function grantsByScope<Scope extends string>(
  scopes: Readonly<Record<string, Scope>>,
  resourcesOf: (scope: Scope) => ScopedResource[],
): Grant[] {
  const grouped = new Map<Scope, string[]>();
  for (const [action, scope] of Object.entries(scopes)) {
    grouped.set(scope, [...(grouped.get(scope) ?? []), action]);
  }
  return [...grouped].map(([scope, actions]) => ({ actions, resources: resourcesOf(scope) }));
}

function readGrants(stack: Stack): Grant[] {
  return grantsByScope(READ_ACTION_SCOPES, (scope) => scopeResources(stack, scope));
}

function revokeGrants(stack: Stack): Grant[] {
  return grantsByScope(REVOKE_ACTION_SCOPES, (scope) =>
    scopeResources(stack, scope).map((resource) => ({
      arn: resource.arn,
      why: `a revocation edits the ${scope === 'role' ? 'trust policy' : 'resource policy'} of whichever ${scope} held the access; ${THIS_ACCOUNT}${scope === 'role' ? ', and the access-review roles themselves are explicitly denied' : ''}`,
    })),
  );
}

const REMEDIATED: Readonly<Record<IamScope, string>> = {
  policy: 'customer managed policies',
  role: "roles' inline policies",
  user: "users' inline policies",
  group: "groups' inline policies",
};

/** Identity-policy writes, only under the configured paths; none without a path. */
function remediationGrants(stack: Stack, paths: readonly string[]): Grant[] {
  if (paths.length === 0) return [];
  return grantsByScope(REMEDIATION_ACTION_SCOPES, (scope) =>
    paths.map((path) => ({
      arn: `arn:${stack.partition}:iam::${stack.account}:${scope}${path}*`,
      why: `automatic remediation edits ${REMEDIATED[scope]} only under the IAM path ${path} (aws.automaticRemediation.identityPolicyPaths)`,
    })),
  );
}

function allowStatements(grants: Grant[]): PolicyStatement[] {
  return grants.map(
    (grant) =>
      new PolicyStatement({
        actions: grant.actions,
        resources: grant.resources.map((resource) => resource.arn),
      }),
  );
}

function guardStatements(ownRoles: string[]): PolicyStatement[] {
  return [
    new PolicyStatement({ effect: Effect.DENY, actions: [...SECRET_VALUE_ACTIONS], resources: ['*'] }),
    new PolicyStatement({
      effect: Effect.DENY,
      actions: [...SELF_MODIFICATION_ACTIONS],
      resources: ownRoles,
    }),
  ];
}

/**
 * cdk-nag (AwsSolutions-IAM5) flags every wildcard in an Allow statement. Each one here is
 * acknowledged on its role with the actions it carries and why the review needs all of it; the ids
 * are derived from the statements, so no acknowledgement can outlive its wildcard.
 */
function acknowledgeWildcards(role: Role, grants: Grant[]): void {
  const stack = Stack.of(role);
  // Finding id → why → the actions granted on that resource for that reason.
  const findings = new Map<string, Map<string, string[]>>();
  for (const grant of grants) {
    for (const resource of grant.resources) {
      if (!resource.arn.includes('*')) continue;
      const id = `AwsSolutions-IAM5[Resource::${nagResourceName(stack.resolve(resource.arn))}]`;
      const reasons = findings.get(id) ?? new Map<string, string[]>();
      reasons.set(resource.why, [...(reasons.get(resource.why) ?? []), ...grant.actions]);
      findings.set(id, reasons);
    }
  }
  for (const [id, reasons] of findings) {
    const reason = [...reasons].map(([why, actions]) => `${actions.join(', ')}: ${why}.`).join(' ');
    Validations.of(role).acknowledge({ id, reason });
  }
}

/** How cdk-nag names a resolved resource in a finding: references as `<Name>`, joins concatenated. */
function nagResourceName(resolved: unknown): string {
  if (typeof resolved === 'string') return resolved;
  if (resolved && typeof resolved === 'object') {
    if ('Ref' in resolved) return `<${String(resolved.Ref)}>`;
    if ('Fn::Join' in resolved && Array.isArray(resolved['Fn::Join'])) {
      const [separator, parts] = resolved['Fn::Join'] as [string, unknown[]];
      return parts.map(nagResourceName).join(separator);
    }
    if ('Fn::GetAtt' in resolved && Array.isArray(resolved['Fn::GetAtt'])) {
      return `<${resolved['Fn::GetAtt'].join('.')}>`;
    }
  }
  throw new Error(`cannot name ${JSON.stringify(resolved)} as cdk-nag does`);
}
