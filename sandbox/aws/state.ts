import { type PolicyDocument, type StoredPolicy, storedPolicy } from './documents';
import { AwsScenarioError } from './errors';
import {
  awsManagedPolicyArn,
  iamArn,
  longTermAccessKeyId,
  secretFor,
  secretSuffix,
  stableUuid,
  uniqueId,
} from './ids';
import {
  type AwsScenario,
  type AwsScenarioAccount,
  findScenarioKey,
  KEY_ARN,
  resolvePolicyReference,
} from './scenario';

/*
 * The world the sandbox serves, built from a scenario and changed by the calls it answers. Tests
 * read and change it directly: `state.account('111122223333').roles.get('deploy-api').trustPolicy`,
 * `state.secret(arn).resourcePolicy`. Documents are StoredPolicy values (exact text + parse);
 * replace them with `storedPolicy(…)` rather than editing the parse, so text and parse agree.
 */

/** When entities the scenario does not date were created: fixed, so answers are reproducible. */
const DEFAULT_CREATE_DATE = '2024-01-01T00:00:00Z';

export interface PolicyVersion {
  versionId: string;
  policy: StoredPolicy;
  isDefault: boolean;
  createDate: Date;
}

export interface ManagedPolicy {
  name: string;
  path: string;
  arn: string;
  id: string;
  description?: string;
  awsManaged: boolean;
  createDate: Date;
  updateDate: Date;
  versions: PolicyVersion[];
  /** Number of the next version CreatePolicyVersion makes; AWS never reuses a deleted version's id. */
  nextVersion: number;
}

interface Principal {
  name: string;
  path: string;
  arn: string;
  id: string;
  createDate: Date;
  /** Managed policy ARNs. */
  managedPolicies: string[];
  inlinePolicies: Map<string, StoredPolicy>;
}

export interface IamGroup extends Principal {}

export interface IamUser extends Principal {
  /** Names of the groups the user is in. */
  groups: string[];
  permissionsBoundary?: string;
  tags: Record<string, string>;
}

export interface IamRole extends Principal {
  description?: string;
  trustPolicy: StoredPolicy;
  maxSessionDuration: number;
  permissionsBoundary?: string;
  tags: Record<string, string>;
  lastUsed?: { date: Date; region?: string };
}

export interface KmsKey {
  id: string;
  arn: string;
  accountId: string;
  region: string;
  /** Alias name without `alias/`. */
  alias?: string;
  description: string;
  policy: StoredPolicy;
  createDate: Date;
  /** AWS for the keys AWS creates for a service (aws/secretsmanager). */
  manager: 'CUSTOMER' | 'AWS';
}

export interface Secret {
  name: string;
  arn: string;
  accountId: string;
  region: string;
  description?: string;
  /** Id of the customer managed key; undefined: the account's aws/secretsmanager key. */
  kmsKeyId?: string;
  /** The account of that key, when it is not the secret's own (it was named by its ARN). */
  kmsKeyAccountId?: string;
  resourcePolicy?: StoredPolicy;
  tags: Record<string, string>;
  value: string;
  versionId: string;
  createDate: Date;
  lastChangedDate: Date;
  lastAccessedDate?: Date;
}

export interface AwsAccount {
  id: string;
  name?: string;
  /** Hosts of the OIDC providers (token.actions.githubusercontent.com). */
  oidcProviders: string[];
  /** Customer managed policies by name (names are unique per account, whatever the path). */
  policies: Map<string, ManagedPolicy>;
  groups: Map<string, IamGroup>;
  users: Map<string, IamUser>;
  roles: Map<string, IamRole>;
  /** KMS keys by key id, every region; aws/secretsmanager keys appear once first used. */
  keys: Map<string, KmsKey>;
  /** Secrets by ARN, every region. */
  secrets: Map<string, Secret>;
}

/** Who a request acts as. */
export interface Caller {
  accountId: string;
  /** What GetCallerIdentity answers: a user ARN or an assumed-role session ARN. */
  arn: string;
  /** GetCallerIdentity's UserId: AIDA… for a user, AROA…:session for a role session. */
  userId: string;
  /** The IAM user or role whose policies decide what the caller may do. */
  principal: { type: 'user' | 'role'; name: string; arn: string };
  sessionName?: string;
  /** The session policy AssumeRole was given (`Policy`): the session may do no more than it allows. */
  sessionPolicy?: PolicyDocument;
}

/** A set of credentials the sandbox honours. */
export interface CredentialRecord {
  accessKeyId: string;
  secretAccessKey: string;
  /** Present for STS credentials; the request must carry it. */
  sessionToken?: string;
  expiration?: Date;
  caller: Caller;
}

export class UnknownAccountError extends Error {
  constructor(accountId: string) {
    super(`the sandbox has no account ${accountId}`);
    this.name = 'UnknownAccountError';
  }
}

const date = (value: string | undefined) => new Date(value ?? DEFAULT_CREATE_DATE);

function managedPolicy(
  input: { name: string; path: string; description?: string; document: PolicyDocument; createDate?: string },
  arn: string,
  awsManaged: boolean,
): ManagedPolicy {
  const created = date(input.createDate);
  return {
    name: input.name,
    path: input.path,
    arn,
    id: uniqueId('ANPA', arn),
    ...(input.description !== undefined ? { description: input.description } : {}),
    awsManaged,
    createDate: created,
    updateDate: created,
    versions: [
      { versionId: 'v1', policy: storedPolicy(input.document), isDefault: true, createDate: created },
    ],
    nextVersion: 2,
  };
}

function inline(policies: Record<string, PolicyDocument>): Map<string, StoredPolicy> {
  return new Map(Object.entries(policies).map(([name, document]) => [name, storedPolicy(document)]));
}

/** KMS's default key policy: the account may use IAM policies to allow use of the key. */
export function defaultKeyPolicy(accountId: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  };
}

/**
 * The policy AWS gives each account's aws/secretsmanager key (AWS Secrets Manager user guide,
 * "Key policy of the AWS managed key"): everyone in the account may use it through Secrets Manager
 * in that region (kms:ViaService + kms:CallerAccount), and the account may read its metadata.
 */
export function secretsManagerKeyPolicy(accountId: string, region: string): PolicyDocument {
  const purpose =
    'Allow access through AWS Secrets Manager for all principals in the account that are authorized to use AWS Secrets Manager';
  return {
    Version: '2012-10-17',
    Id: 'auto-secretsmanager-2',
    Statement: [
      {
        Sid: purpose,
        Effect: 'Allow',
        Principal: { AWS: ['*'] },
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:CreateGrant', 'kms:DescribeKey'],
        Resource: '*',
        Condition: {
          StringEquals: {
            'kms:CallerAccount': accountId,
            'kms:ViaService': `secretsmanager.${region}.amazonaws.com`,
          },
        },
      },
      {
        Sid: purpose,
        Effect: 'Allow',
        Principal: { AWS: ['*'] },
        Action: 'kms:GenerateDataKey*',
        Resource: '*',
        Condition: {
          StringEquals: { 'kms:CallerAccount': accountId },
          StringLike: { 'kms:ViaService': 'secretsmanager.*.amazonaws.com' },
        },
      },
      {
        Sid: 'Allow direct access to key metadata to the account',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: ['kms:Describe*', 'kms:Get*', 'kms:List*', 'kms:RevokeGrant'],
        Resource: '*',
      },
    ],
  };
}

export const SECRETS_MANAGER_ALIAS = 'aws/secretsmanager';

export function secretArn(accountId: string, region: string, name: string): string {
  return `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${secretSuffix(accountId, region, name)}`;
}

export function keyArn(accountId: string, region: string, id: string): string {
  return `arn:aws:kms:${region}:${accountId}:key/${id}`;
}

/** The prefixes IAM starts each kind of principal's unique id with. */
const UNIQUE_ID_PREFIXES = { group: 'AGPA', user: 'AIDA', role: 'AROA' } as const;

type ScenarioPrincipal = AwsScenarioAccount['groups' | 'users' | 'roles'][number];

function buildAccount(scenario: AwsScenario, input: AwsScenarioAccount): AwsAccount {
  const id = input.id;
  const resolve = (reference: string) => {
    const resolved = resolvePolicyReference(reference, scenario, input);
    if ('problem' in resolved) throw new AwsScenarioError([resolved.problem]);
    return resolved.arn;
  };
  const account: AwsAccount = {
    id,
    ...(input.name !== undefined ? { name: input.name } : {}),
    oidcProviders: [...input.oidcProviders],
    policies: new Map(),
    groups: new Map(),
    users: new Map(),
    roles: new Map(),
    keys: new Map(),
    secrets: new Map(),
  };
  for (const p of input.policies) {
    account.policies.set(p.name, managedPolicy(p, iamArn(id, 'policy', p.path, p.name), false));
  }
  const principal = (type: keyof typeof UNIQUE_ID_PREFIXES, p: ScenarioPrincipal): Principal => {
    const arn = iamArn(id, type, p.path, p.name);
    return {
      name: p.name,
      path: p.path,
      arn,
      id: uniqueId(UNIQUE_ID_PREFIXES[type], arn),
      createDate: date(p.createDate),
      managedPolicies: p.managedPolicies.map(resolve),
      inlinePolicies: inline(p.inlinePolicies),
    };
  };
  for (const g of input.groups) account.groups.set(g.name, principal('group', g));
  for (const u of input.users) {
    account.users.set(u.name, {
      ...principal('user', u),
      groups: [...u.groups],
      ...(u.permissionsBoundary !== undefined ? { permissionsBoundary: resolve(u.permissionsBoundary) } : {}),
      tags: { ...u.tags },
    });
  }
  for (const r of input.roles) {
    account.roles.set(r.name, {
      ...principal('role', r),
      ...(r.description !== undefined ? { description: r.description } : {}),
      trustPolicy: storedPolicy(r.trustPolicy),
      maxSessionDuration: r.maxSessionDuration,
      ...(r.permissionsBoundary !== undefined ? { permissionsBoundary: resolve(r.permissionsBoundary) } : {}),
      tags: { ...r.tags },
      ...(r.lastUsed
        ? {
            lastUsed: {
              date: new Date(r.lastUsed.date),
              ...(r.lastUsed.region ? { region: r.lastUsed.region } : {}),
            },
          }
        : {}),
    });
  }
  for (const k of input.keys) {
    account.keys.set(k.id, {
      id: k.id,
      arn: keyArn(id, k.region, k.id),
      accountId: id,
      region: k.region,
      ...(k.alias !== undefined ? { alias: k.alias } : {}),
      description: k.description,
      policy: storedPolicy(k.policy ?? defaultKeyPolicy(id), 'resource'),
      createDate: date(k.createDate),
      manager: 'CUSTOMER',
    });
  }
  for (const s of input.secrets) {
    const arn = secretArn(id, s.region, s.name);
    const created = date(s.createDate);
    const foreign = s.kmsKey === undefined ? null : KEY_ARN.exec(s.kmsKey);
    const key =
      s.kmsKey === undefined
        ? undefined
        : foreign
          ? { id: foreign[3] ?? '', accountId: foreign[2] ?? '' }
          : findScenarioKey(input, s.kmsKey, s.region);
    account.secrets.set(arn, {
      name: s.name,
      arn,
      accountId: id,
      region: s.region,
      ...(s.description !== undefined ? { description: s.description } : {}),
      ...(key ? { kmsKeyId: key.id } : {}),
      ...(key && 'accountId' in key && key.accountId !== id ? { kmsKeyAccountId: key.accountId } : {}),
      ...(s.resourcePolicy ? { resourcePolicy: storedPolicy(s.resourcePolicy, 'resource') } : {}),
      tags: { ...s.tags },
      value: s.value ?? `sandbox value of ${s.name}`,
      versionId: stableUuid('secret-version', arn),
      createDate: created,
      lastChangedDate: s.lastChangedDate ? new Date(s.lastChangedDate) : created,
      ...(s.lastAccessedDate ? { lastAccessedDate: new Date(s.lastAccessedDate) } : {}),
    });
  }
  return account;
}

const ROLE_OR_USER_ARN = /^arn:aws:iam::(\d{12}):(role|user)(\/(?:.*\/)?)([^/]+)$/;

/** The session name the sandbox's base credentials carry when the hub principal is a role. */
export const BASE_SESSION_NAME = 'access-review';

export class AwsState {
  readonly hubAccountId: string;
  /** AWS managed policies by ARN; shared by every account, as on AWS. */
  readonly awsManagedPolicies = new Map<string, ManagedPolicy>();
  /** Every credential the sandbox honours, by access key id: the base credentials and STS's. */
  readonly credentials = new Map<string, CredentialRecord>();
  readonly baseCredentials: CredentialRecord;
  private readonly accounts = new Map<string, AwsAccount>();

  constructor(scenario: AwsScenario) {
    this.hubAccountId = scenario.hubAccountId;
    for (const p of scenario.awsManagedPolicies) {
      const arn = awsManagedPolicyArn(p.path, p.name);
      this.awsManagedPolicies.set(arn, managedPolicy(p, arn, true));
    }
    for (const account of scenario.accounts) this.accounts.set(account.id, buildAccount(scenario, account));

    const hub = ROLE_OR_USER_ARN.exec(scenario.hubPrincipal);
    if (!hub)
      throw new AwsScenarioError([`aws.hubPrincipal: "${scenario.hubPrincipal}" is not a role or user ARN`]);
    const [, accountId, type, , name] = hub as unknown as [string, string, 'role' | 'user', string, string];
    const entity =
      type === 'role' ? this.account(accountId).roles.get(name) : this.account(accountId).users.get(name);
    if (!entity) throw new AwsScenarioError([`aws.hubPrincipal: no ${type} ${name} in account ${accountId}`]);
    const accessKeyId = longTermAccessKeyId(scenario.hubPrincipal);
    this.baseCredentials = {
      accessKeyId,
      secretAccessKey: secretFor(accessKeyId),
      // A Lambda function's credentials are a session of its role; the base credentials act the same way.
      caller:
        type === 'role'
          ? {
              accountId,
              arn: `arn:aws:sts::${accountId}:assumed-role/${name}/${BASE_SESSION_NAME}`,
              userId: `${entity.id}:${BASE_SESSION_NAME}`,
              principal: { type, name, arn: entity.arn },
              sessionName: BASE_SESSION_NAME,
            }
          : { accountId, arn: entity.arn, userId: entity.id, principal: { type, name, arn: entity.arn } },
    };
    this.credentials.set(accessKeyId, this.baseCredentials);
  }

  /** The account, or an UnknownAccountError. */
  account(id: string): AwsAccount {
    const account = this.accounts.get(id);
    if (!account) throw new UnknownAccountError(id);
    return account;
  }

  hasAccount(id: string): boolean {
    return this.accounts.has(id);
  }

  accountIds(): string[] {
    return [...this.accounts.keys()];
  }

  /** A managed policy by ARN: AWS managed, or customer managed in the account the ARN names. */
  managedPolicy(arn: string): ManagedPolicy | undefined {
    const aws = this.awsManagedPolicies.get(arn);
    if (aws) return aws;
    const owner = /^arn:aws:iam::(\d{12}):policy\//.exec(arn)?.[1];
    const account = owner ? this.accounts.get(owner) : undefined;
    return [...(account?.policies.values() ?? [])].find((policy) => policy.arn === arn);
  }

  /** The default version's document of a managed policy. */
  defaultDocument(policy: ManagedPolicy): StoredPolicy {
    const version = policy.versions.find((v) => v.isDefault);
    if (!version) throw new Error(`managed policy ${policy.arn} has no default version`);
    return version.policy;
  }

  /** How many users, groups and roles of the account attach the policy, and use it as a boundary. */
  attachments(accountId: string, policyArn: string): { attached: number; boundary: number } {
    const account = this.account(accountId);
    let attached = 0;
    let boundary = 0;
    for (const entity of [...account.users.values(), ...account.groups.values(), ...account.roles.values()]) {
      if (entity.managedPolicies.includes(policyArn)) attached++;
      if ('permissionsBoundary' in entity && entity.permissionsBoundary === policyArn) boundary++;
    }
    return { attached, boundary };
  }

  /**
   * A secret by full ARN (any account), by partial ARN (without the six-character suffix), or by
   * name within an account and region.
   */
  secret(secretId: string, where?: { accountId: string; region: string }): Secret | undefined {
    const arn = /^arn:aws:secretsmanager:([a-z0-9-]+):(\d{12}):secret:(.+)$/.exec(secretId);
    if (arn) {
      const [, region, accountId, rest] = arn as unknown as [string, string, string, string];
      const secrets = [...(this.accounts.get(accountId)?.secrets.values() ?? [])];
      return (
        secrets.find((s) => s.arn === secretId) ??
        secrets.find((s) => s.region === region && s.name === rest) ??
        undefined
      );
    }
    const candidates = where
      ? [...(this.accounts.get(where.accountId)?.secrets.values() ?? [])].filter(
          (s) => s.region === where.region,
        )
      : [...this.accounts.values()].flatMap((account) => [...account.secrets.values()]);
    const named = candidates.filter((s) => s.name === secretId);
    return named.length === 1 ? named[0] : undefined;
  }

  /** The account's aws/secretsmanager key in a region, created on first use as AWS does. */
  secretsManagerKey(accountId: string, region: string): KmsKey {
    const account = this.account(accountId);
    const existing = [...account.keys.values()].find(
      (k) => k.manager === 'AWS' && k.region === region && k.alias === SECRETS_MANAGER_ALIAS,
    );
    if (existing) return existing;
    const id = stableUuid('aws/secretsmanager', accountId, region);
    const key: KmsKey = {
      id,
      arn: keyArn(accountId, region, id),
      accountId,
      region,
      alias: SECRETS_MANAGER_ALIAS,
      description: 'Default key that protects my Secrets Manager data when no other key is defined',
      policy: storedPolicy(secretsManagerKeyPolicy(accountId, region), 'resource'),
      createDate: new Date(DEFAULT_CREATE_DATE),
      manager: 'AWS',
    };
    account.keys.set(id, key);
    return key;
  }

  /** The key a secret is encrypted with. */
  keyOfSecret(secret: Secret): KmsKey {
    const key = secret.kmsKeyId
      ? this.account(secret.kmsKeyAccountId ?? secret.accountId).keys.get(secret.kmsKeyId)
      : undefined;
    return key ?? this.secretsManagerKey(secret.accountId, secret.region);
  }

  /**
   * A key by id, key ARN, `alias/name` or alias ARN, in the account and region (an ARN may name
   * another account). `alias/aws/secretsmanager` always resolves.
   */
  key(keyId: string, where?: { accountId: string; region: string }): KmsKey | undefined {
    const arn = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/.exec(keyId);
    let accountId = where?.accountId;
    let region = where?.region;
    let reference = keyId;
    if (arn) {
      const [, arnRegion, arnAccount, type, rest] = arn as unknown as [
        string,
        string,
        string,
        string,
        string,
      ];
      [accountId, region, reference] = [arnAccount, arnRegion, type === 'alias' ? `alias/${rest}` : rest];
    }
    if (accountId === undefined || !this.accounts.has(accountId)) {
      return [...this.accounts.values()].flatMap((a) => [...a.keys.values()]).find((k) => k.id === keyId);
    }
    const keys = [...this.account(accountId).keys.values()].filter(
      (k) => region === undefined || k.region === region,
    );
    if (reference.startsWith('alias/')) {
      const alias = reference.slice('alias/'.length);
      if (alias === SECRETS_MANAGER_ALIAS && region !== undefined)
        return this.secretsManagerKey(accountId, region);
      return keys.find((k) => k.alias === alias);
    }
    return keys.find((k) => k.id === reference);
  }

  /** The policies that decide what a principal may do: its own, its groups' (for users) and its boundary. */
  identityPolicies(principalArn: string): {
    policies: Array<{ name: string; policy: PolicyDocument }>;
    boundary?: { name: string; policy: PolicyDocument };
  } {
    const match = ROLE_OR_USER_ARN.exec(principalArn);
    if (!match) return { policies: [] };
    const [, accountId, type, , name] = match as unknown as [string, string, 'role' | 'user', string, string];
    const account = this.accounts.get(accountId);
    const entity = type === 'role' ? account?.roles.get(name) : account?.users.get(name);
    if (!account || !entity) return { policies: [] };
    const policies: Array<{ name: string; policy: PolicyDocument }> = [];
    const collect = (owner: Principal, label: string) => {
      for (const [policyName, stored] of owner.inlinePolicies) {
        policies.push({ name: `${label} inline ${policyName}`, policy: stored.document });
      }
      for (const arn of owner.managedPolicies) {
        const managed = this.managedPolicy(arn);
        if (managed)
          policies.push({ name: `${label} ${arn}`, policy: this.defaultDocument(managed).document });
      }
    };
    collect(entity, entity.arn);
    if (type === 'user') {
      for (const groupName of (entity as IamUser).groups) {
        const group = account.groups.get(groupName);
        if (group) collect(group, group.arn);
      }
    }
    const boundaryArn = entity.permissionsBoundary;
    const boundaryPolicy = boundaryArn ? this.managedPolicy(boundaryArn) : undefined;
    return {
      policies,
      ...(boundaryPolicy
        ? { boundary: { name: boundaryPolicy.arn, policy: this.defaultDocument(boundaryPolicy).document } }
        : {}),
    };
  }
}
