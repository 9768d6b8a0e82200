import {
  type AttachedPolicy,
  type EntityType,
  GetAccountAuthorizationDetailsCommand,
  type GetAccountAuthorizationDetailsResponse,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  type GroupDetail,
  type ManagedPolicyDetail,
  type PolicyDetail,
  type RoleDetail,
  type Tag,
  type UserDetail,
} from '@aws-sdk/client-iam';
import type { Grant } from '../../core/grant';
import { type AwsClients, callAws, type RoleKind } from './clients';
import { AwsGrantError, AwsRequestError } from './errors';
import { decodeIamDocument, type PolicyDocument, parsePolicy } from './policy-documents';

/**
 * What the connector knows about the reviewed accounts, read once per snapshot (and again, per
 * account, for a check). Evaluation (evaluate.ts) is a pure function of this, so it is tested
 * without HTTP.
 */

/** An identity policy as it reaches one principal: attached to it, or to one of its groups. */
export interface IdentityPolicy {
  /** A managed policy's ARN, or an inline policy as `<owner ARN>#<policy name>`. */
  id: string;
  kind: 'managed' | 'inline';
  /** The group (its name) the policy reaches the principal through; absent when attached to it. */
  group?: string;
  document: PolicyDocument;
  /** The managed policy's IAM path, or the inline policy owner's: decides automatic remediation. */
  path: string;
  /** `arn:aws:iam::aws:policy/…`: AWS writes these, nobody in the account can edit them. */
  awsManaged: boolean;
}

export interface IamPrincipal {
  arn: string;
  type: 'iam_user' | 'iam_role';
  accountId: string;
  name: string;
  path: string;
  identityPolicies: IdentityPolicy[];
  permissionBoundary?: { arn: string; document: PolicyDocument };
  tags: Record<string, string>;
  /** Roles only: who may assume the role. */
  trustPolicy?: PolicyDocument;
}

export interface SecretRecord {
  arn: string;
  name: string;
  accountId: string;
  region: string;
  /** The KMS key ARN the secret is encrypted under (the AWS managed aws/secretsmanager when none is set). */
  keyArn: string;
  resourcePolicy: PolicyDocument | null;
  /** The date Secrets Manager last saw the secret read (it keeps only the day), or null. */
  lastAccessed: string | null;
  tags: Record<string, string>;
}

export interface KeyRecord {
  arn: string;
  accountId: string;
  region: string;
  /**
   * The key policy; null when it could not be read (a key in an account that is not configured,
   * where KMS does not answer GetKeyPolicy, or one the read role may not read): reads under the
   * key are then decided without it, as if it let the reader decrypt, and say so.
   */
  policy: PolicyDocument | null;
  /** Why the policy is null, in words. */
  policyUnreadable?: string;
  /** True for the AWS managed key (alias aws/secretsmanager). */
  awsManaged: boolean;
}

export interface AccountInfo {
  accountId: string;
  name?: string;
}

export interface Inventory {
  accounts: Map<string, AccountInfo>;
  principals: IamPrincipal[];
  secrets: SecretRecord[];
  keys: Map<string, KeyRecord>;
}

/** The IAM side of one account: its principals with their policies resolved, and its managed policies. */
export interface AccountIam {
  accountId: string;
  principals: IamPrincipal[];
  managedPolicies: Map<string, ManagedPolicy>;
}

export interface ManagedPolicy {
  arn: string;
  path: string;
  document: PolicyDocument;
  defaultVersionId: string;
}

function tagsOf(tags: Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

function isAwsManagedPolicy(arn: string): boolean {
  return /^arn:aws[a-z-]*:iam::aws:policy\//.test(arn);
}

/**
 * Reads every page of GetAccountAuthorizationDetails (users, groups, roles, and managed policies
 * with their default version) and resolves each user's and role's identity policies: their own
 * inline and managed policies, and for a user every group's inline and managed policies. `filter`
 * narrows a check to the entity types it needs. IAM returns documents URL-encoded; they are decoded.
 */
export async function readAccountIam(
  clients: AwsClients,
  accountId: string,
  kind: RoleKind,
  filter?: EntityType[],
): Promise<AccountIam> {
  const iam = clients.iam(accountId, kind);
  const users: UserDetail[] = [];
  const groups: GroupDetail[] = [];
  const roles: RoleDetail[] = [];
  const policies: ManagedPolicyDetail[] = [];
  let marker: string | undefined;
  const seenMarkers = new Set<string>();
  do {
    const page: GetAccountAuthorizationDetailsResponse = await callAws(
      iam,
      'iam:GetAccountAuthorizationDetails',
      `account ${accountId}`,
      () =>
        iam.client.send(
          new GetAccountAuthorizationDetailsCommand({
            ...(filter ? { Filter: filter } : {}),
            MaxItems: 1000,
            ...(marker ? { Marker: marker } : {}),
          }),
        ),
    );
    users.push(...(page.UserDetailList ?? []));
    groups.push(...(page.GroupDetailList ?? []));
    roles.push(...(page.RoleDetailList ?? []));
    policies.push(...(page.Policies ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
    if (page.IsTruncated && !marker) {
      throw new AwsRequestError(
        `iam:GetAccountAuthorizationDetails in account ${accountId}: truncated page without a Marker`,
      );
    }
    // A server that hands the same marker back would loop forever; stop loudly instead.
    if (marker && seenMarkers.has(marker)) {
      throw new AwsRequestError(
        `iam:GetAccountAuthorizationDetails in account ${accountId}: Marker repeated`,
      );
    }
    if (marker) seenMarkers.add(marker);
  } while (marker);

  const managedPolicies = new Map<string, ManagedPolicy>();
  for (const policy of policies) {
    const version = (policy.PolicyVersionList ?? []).find(
      (item) => item.IsDefaultVersion || item.VersionId === policy.DefaultVersionId,
    );
    if (!policy.Arn || !version?.Document) continue;
    managedPolicies.set(policy.Arn, {
      arn: policy.Arn,
      path: policy.Path ?? '/',
      document: parsePolicy(decodeIamDocument(version.Document), `managed policy ${policy.Arn}`),
      defaultVersionId: version.VersionId ?? policy.DefaultVersionId ?? '',
    });
  }
  // An attached policy the listing left out (an AWS managed policy under a filter) is read alone.
  const attached = [...users, ...groups, ...roles].flatMap((entity) => entity.AttachedManagedPolicies ?? []);
  const boundaries = [...users, ...roles].flatMap((entity) =>
    entity.PermissionsBoundary?.PermissionsBoundaryArn
      ? [entity.PermissionsBoundary.PermissionsBoundaryArn]
      : [],
  );
  for (const arn of new Set([...attached.map((policy) => policy.PolicyArn ?? ''), ...boundaries])) {
    if (arn && !managedPolicies.has(arn))
      managedPolicies.set(arn, await readManagedPolicy(clients, accountId, kind, arn));
  }

  const managed = (list: AttachedPolicy[] | undefined, group?: string): IdentityPolicy[] =>
    (list ?? []).flatMap((item) => {
      const policy = item.PolicyArn ? managedPolicies.get(item.PolicyArn) : undefined;
      if (!policy) return [];
      return [
        {
          id: policy.arn,
          kind: 'managed' as const,
          ...(group ? { group } : {}),
          document: policy.document,
          path: policy.path,
          awsManaged: isAwsManagedPolicy(policy.arn),
        },
      ];
    });
  const inline = (ownerArn: string, ownerPath: string, list: PolicyDetail[] | undefined, group?: string) =>
    (list ?? []).map(
      (item): IdentityPolicy => ({
        id: `${ownerArn}#${item.PolicyName ?? ''}`,
        kind: 'inline',
        ...(group ? { group } : {}),
        document: parsePolicy(
          decodeIamDocument(item.PolicyDocument ?? '{}'),
          `inline policy ${item.PolicyName ?? ''} of ${ownerArn}`,
        ),
        path: ownerPath,
        awsManaged: false,
      }),
    );
  const boundary = (arn: string | undefined) => {
    const policy = arn ? managedPolicies.get(arn) : undefined;
    return policy ? { permissionBoundary: { arn: policy.arn, document: policy.document } } : {};
  };

  const groupPolicies = new Map<string, IdentityPolicy[]>();
  for (const group of groups) {
    const name = group.GroupName ?? '';
    groupPolicies.set(name, [
      ...inline(group.Arn ?? '', group.Path ?? '/', group.GroupPolicyList, name),
      ...managed(group.AttachedManagedPolicies, name),
    ]);
  }

  // Users and roles come back as different types that share the fields a principal is built from.
  const principal = (
    type: IamPrincipal['type'],
    entity: UserDetail | RoleDetail,
    name: string | undefined,
    inlinePolicies: PolicyDetail[] | undefined,
    viaGroups: IdentityPolicy[] = [],
  ): IamPrincipal => {
    const arn = entity.Arn ?? '';
    const path = entity.Path ?? '/';
    return {
      arn,
      type,
      accountId,
      name: name ?? '',
      path,
      identityPolicies: [
        ...inline(arn, path, inlinePolicies),
        ...managed(entity.AttachedManagedPolicies),
        ...viaGroups,
      ],
      ...boundary(entity.PermissionsBoundary?.PermissionsBoundaryArn),
      tags: tagsOf(entity.Tags),
    };
  };
  const groupPoliciesOf = (user: UserDetail) =>
    (user.GroupList ?? []).flatMap((group) => groupPolicies.get(group) ?? []);

  const principals: IamPrincipal[] = [
    ...users.map((user) =>
      principal('iam_user', user, user.UserName, user.UserPolicyList, groupPoliciesOf(user)),
    ),
    ...roles.map((role) => {
      const read = principal('iam_role', role, role.RoleName, role.RolePolicyList);
      const trust = role.AssumeRolePolicyDocument;
      return trust
        ? { ...read, trustPolicy: parsePolicy(decodeIamDocument(trust), `trust policy of ${read.arn}`) }
        : read;
    }),
  ];
  return { accountId, principals, managedPolicies };
}

/** A managed policy's default version, read alone (GetPolicy, then GetPolicyVersion). */
export async function readManagedPolicy(
  clients: AwsClients,
  accountId: string,
  kind: RoleKind,
  arn: string,
): Promise<ManagedPolicy & { text: string }> {
  const iam = clients.iam(accountId, kind);
  const policy = await callAws(iam, 'iam:GetPolicy', arn, () =>
    iam.client.send(new GetPolicyCommand({ PolicyArn: arn })),
  );
  const versionId = policy.Policy?.DefaultVersionId;
  if (!versionId) throw new AwsRequestError(`iam:GetPolicy ${arn}: no default version`);
  const version = await callAws(iam, 'iam:GetPolicyVersion', `${arn} version ${versionId}`, () =>
    iam.client.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: versionId })),
  );
  const text = decodeIamDocument(version.PolicyVersion?.Document ?? '');
  return {
    arn,
    path: policy.Policy?.Path ?? '/',
    document: parsePolicy(text, `managed policy ${arn}`),
    defaultVersionId: versionId,
    text,
  };
}

/** Where a secret grant points: the account, region, ARN and name of the secret. */
export function secretTarget(grant: Pick<Grant, 'grantId' | 'resource' | 'resourceType' | 'raw'>): {
  accountId: string;
  region: string;
  secretArn: string;
  secretName: string;
} {
  const match = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):(\d{12}):secret:(.+)$/.exec(grant.resource);
  if (grant.resourceType !== 'aws_secret' || !match?.[1] || !match[2] || !match[3]) {
    throw new AwsGrantError(
      `grant ${grant.grantId}: "${grant.resource}" is not a Secrets Manager secret ARN`,
    );
  }
  // The ARN ends in '-' and six random characters that are not part of the name.
  const name =
    typeof grant.raw.secretName === 'string'
      ? grant.raw.secretName
      : match[3].replace(/-[A-Za-z0-9]{6}$/, '');
  return { region: match[1], accountId: match[2], secretArn: grant.resource, secretName: name };
}
