import type { EntityType } from '@aws-sdk/client-iam';
import {
  DescribeKeyCommand,
  type DescribeKeyResponse,
  GetKeyPolicyCommand,
  type GetKeyPolicyResponse,
} from '@aws-sdk/client-kms';
import {
  DescribeSecretCommand,
  GetResourcePolicyCommand,
  ListSecretsCommand,
  type ListSecretsResponse,
  type Tag,
} from '@aws-sdk/client-secrets-manager';
import type { AwsConfig } from '../../core/config';
import { accountOfArn, type Grant, type GrantFlag, makeGrant, type Via, viaLabel } from '../../core/grant';
import type { AccessPath, CheckResult } from '../connector';
import { callAws, callAwsOrNotFound } from './clients';
import { type AwsContext, isoNow } from './context';
import { AwsAccessDeniedError, AwsRequestError, isNotFound } from './errors';
import {
  type ExternalReader,
  evaluateSecretRead,
  externalReaders,
  mayCarrySessionTags,
  outsiderReadsNow,
  type ReadPath,
  resourcePolicyWhere,
  type SecretAccess,
} from './evaluate';
import { isAutomatic, policyRefOf } from './identity-policy';
import {
  type AccountInfo,
  type IamPrincipal,
  type Inventory,
  type KeyRecord,
  readAccountIam,
  type SecretRecord,
  secretTarget,
} from './inventory';
import { parsePolicy } from './policy-documents';

/** The key Secrets Manager uses when a secret names none. */
const DEFAULT_KEY = 'alias/aws/secretsmanager';

function tagsOf(tags: Tag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

/**
 * Resolved keys by `<account>|<region>|<key id, alias or ARN as a secret names it>`, and by ARN.
 * The account is part of the key: an alias or id (aws/secretsmanager above all) names a different
 * key in every account.
 */
export interface KeyCache {
  byReference: Map<string, string>;
  byArn: Map<string, KeyRecord>;
}

export function newKeyCache(): KeyCache {
  return { byReference: new Map(), byArn: new Map() };
}

/**
 * The key a secret is encrypted under, with its key policy: DescribeKey (which resolves an alias
 * or id, and the AWS managed aws/secretsmanager key when the secret names none), then GetKeyPolicy.
 * A key in another reviewed account is read with that account's read role: GetKeyPolicy does not
 * work across accounts (KMS answers NotFoundException). A key in an account that is not
 * configured, or one whose policy (or description, for a key named by its ARN) the read role may
 * not read, does not stop the snapshot: the record has no policy (`policy: null`, and why), the
 * reads under it are decided without it (as if it let the reader decrypt, so nothing is hidden),
 * their grants say `kmsKeyPolicy: 'unreadable'`, and `warn` is told once per key.
 */
async function resolveKey(
  context: AwsContext,
  accountId: string,
  region: string,
  reference: string,
  cache: KeyCache,
): Promise<KeyRecord> {
  const cacheKey = `${accountId}|${region}|${reference}`;
  const known = cache.byReference.get(cacheKey);
  if (known) {
    const record = cache.byArn.get(known);
    if (record) return record;
  }
  const referencedAccount = accountOfArn(reference);
  const keyAccount =
    referencedAccount && context.clients.isConfigured(referencedAccount) ? referencedAccount : accountId;
  const kms = context.clients.kms(keyAccount, region, 'read');
  const unreadable = (arn: string, owner: string, why: string): KeyRecord => {
    context.warn(
      `the key policy of ${arn} could not be read (${why}): reads of secrets under it are reported without it (kmsKeyPolicy: unreadable), as if it let every reader decrypt`,
    );
    const record: KeyRecord = {
      arn,
      accountId: owner,
      region,
      policy: null,
      policyUnreadable: why,
      awsManaged: false,
    };
    cache.byReference.set(cacheKey, arn);
    cache.byArn.set(arn, record);
    return record;
  };
  let described: DescribeKeyResponse;
  try {
    described = await callAws(kms, 'kms:DescribeKey', reference, () =>
      kms.client.send(new DescribeKeyCommand({ KeyId: reference })),
    );
  } catch (error) {
    // A key named by its ARN is known without DescribeKey; anything else is this account's key,
    // which the read role must be able to describe.
    if (!/^arn:aws[a-z-]*:kms:[^:]+:\d{12}:key\//.test(reference) || !isRefusal(error)) throw error;
    return unreadable(
      reference,
      referencedAccount ?? accountId,
      `kms:DescribeKey: ${(error as Error).message}`,
    );
  }
  const arn = described.KeyMetadata?.Arn;
  if (!arn) throw new AwsRequestError(`kms:DescribeKey ${reference} in ${region}: no key ARN in the answer`);
  cache.byReference.set(cacheKey, arn);
  const cached = cache.byArn.get(arn);
  if (cached) return cached;
  const owner = accountOfArn(arn) ?? keyAccount;
  if (!context.clients.isConfigured(owner)) {
    return unreadable(
      arn,
      owner,
      `the key is in account ${owner}, which is not configured, and KMS does not answer GetKeyPolicy across accounts`,
    );
  }
  const policyKms = context.clients.kms(owner, region, 'read');
  let policy: GetKeyPolicyResponse;
  try {
    policy = await callAws(policyKms, 'kms:GetKeyPolicy', arn, () =>
      policyKms.client.send(new GetKeyPolicyCommand({ KeyId: arn, PolicyName: 'default' })),
    );
  } catch (error) {
    if (!isRefusal(error)) throw error;
    return unreadable(arn, owner, `kms:GetKeyPolicy: ${(error as Error).message}`);
  }
  const record: KeyRecord = {
    arn,
    accountId: owner,
    region,
    policy: parsePolicy(policy.Policy ?? '', `the key policy of ${arn}`),
    awsManaged: described.KeyMetadata?.KeyManager === 'AWS',
  };
  cache.byArn.set(arn, record);
  return record;
}

/** AWS refused to show a key (AccessDenied, or NotFound as KMS answers across accounts). */
function isRefusal(error: unknown): boolean {
  return error instanceof AwsAccessDeniedError || isNotFound((error as { cause?: unknown }).cause);
}

async function readSecretPolicy(
  context: AwsContext,
  accountId: string,
  region: string,
  secretArn: string,
  name: string,
): Promise<SecretRecord['resourcePolicy'] | 'not_found'> {
  const secrets = context.clients.secrets(accountId, region, 'read');
  const answer = await callAwsOrNotFound(secrets, 'secretsmanager:GetResourcePolicy', secretArn, () =>
    secrets.client.send(new GetResourcePolicyCommand({ SecretId: secretArn })),
  );
  if (answer === 'not_found') return answer;
  return answer.ResourcePolicy ? parsePolicy(answer.ResourcePolicy, resourcePolicyWhere({ name })) : null;
}

/**
 * Every secret of one account and region (ListSecrets, paged; secrets scheduled for deletion are
 * left out by ListSecrets itself, and nobody can read them), each with its resource policy and key.
 * LastAccessedDate comes in the listing, so no DescribeSecret per secret is needed.
 */
export async function readRegionSecrets(
  context: AwsContext,
  accountId: string,
  region: string,
  keys: KeyCache,
): Promise<SecretRecord[]> {
  const secrets = context.clients.secrets(accountId, region, 'read');
  const records: SecretRecord[] = [];
  let token: string | undefined;
  const seen = new Set<string>();
  do {
    const page: ListSecretsResponse = await callAws(
      secrets,
      'secretsmanager:ListSecrets',
      `account ${accountId} ${region}`,
      () =>
        secrets.client.send(
          new ListSecretsCommand({ MaxResults: 100, ...(token ? { NextToken: token } : {}) }),
        ),
    );
    for (const entry of page.SecretList ?? []) {
      if (!entry.ARN || !entry.Name) continue;
      const policy = await readSecretPolicy(context, accountId, region, entry.ARN, entry.Name);
      if (policy === 'not_found') continue; // deleted between the listing and this read
      const key = await resolveKey(context, accountId, region, entry.KmsKeyId ?? DEFAULT_KEY, keys);
      records.push({
        arn: entry.ARN,
        name: entry.Name,
        accountId,
        region,
        keyArn: key.arn,
        resourcePolicy: policy,
        lastAccessed: entry.LastAccessedDate ? entry.LastAccessedDate.toISOString() : null,
        tags: tagsOf(entry.Tags),
      });
    }
    token = page.NextToken;
    if (token && seen.has(token)) {
      throw new AwsRequestError(
        `secretsmanager:ListSecrets in account ${accountId} ${region}: NextToken repeated`,
      );
    }
    if (token) seen.add(token);
  } while (token);
  return records;
}

/** One secret read again for a check (DescribeSecret, GetResourcePolicy, its key), or not_found. */
async function readOneSecret(
  context: AwsContext,
  target: ReturnType<typeof secretTarget>,
  keys: KeyCache,
): Promise<SecretRecord | 'not_found'> {
  const secrets = context.clients.secrets(target.accountId, target.region, 'read');
  const described = await callAwsOrNotFound(secrets, 'secretsmanager:DescribeSecret', target.secretArn, () =>
    secrets.client.send(new DescribeSecretCommand({ SecretId: target.secretArn })),
  );
  // A secret scheduled for deletion cannot be read (GetSecretValue refuses it).
  if (described === 'not_found' || described.DeletedDate) return 'not_found';
  const name = described.Name ?? target.secretName;
  const policy = await readSecretPolicy(context, target.accountId, target.region, target.secretArn, name);
  if (policy === 'not_found') return policy;
  const key = await resolveKey(
    context,
    target.accountId,
    target.region,
    described.KmsKeyId ?? DEFAULT_KEY,
    keys,
  );
  return {
    arn: target.secretArn,
    name,
    accountId: target.accountId,
    region: target.region,
    keyArn: key.arn,
    resourcePolicy: policy,
    lastAccessed: described.LastAccessedDate ? described.LastAccessedDate.toISOString() : null,
    tags: tagsOf(described.Tags),
  };
}

function secretRaw(secret: SecretRecord, account: AccountInfo | undefined, key: KeyRecord | undefined) {
  return {
    secretName: secret.name,
    accountId: secret.accountId,
    ...(account?.name ? { accountName: account.name } : {}),
    region: secret.region,
    kmsKey: secret.keyArn,
    ...(key?.awsManaged ? { kmsKeyManager: 'AWS (aws/secretsmanager)' } : {}),
    ...(key && key.policy === null
      ? {
          kmsKeyPolicy: 'unreadable',
          kmsSide: `unknown: the key policy could not be read (${key.policyUnreadable ?? 'no reason given'}), so kms:Decrypt was taken as allowed`,
        }
      : {}),
    lastAccessed: secret.lastAccessed,
  };
}

function secretKey(secret: SecretRecord, principalType: Grant['principalType'], principal: string, via: Via) {
  return {
    connector: 'aws' as const,
    grantKind: 'secret_read' as const,
    resourceType: 'aws_secret' as const,
    resource: secret.arn,
    principalType,
    principal,
    entitlement: 'read',
    via,
  };
}

/**
 * Whether the aws_anyone grant of a secret stands for a reviewed principal that reads only through
 * a statement naming every principal: it reaches principals of other accounts, or the principal is
 * in the secret's own account.
 */
export function coveredByAnyone(
  anyone: ExternalReader | undefined,
  principal: Pick<IamPrincipal, 'accountId'>,
  secret: Pick<SecretRecord, 'accountId'>,
): boolean {
  return anyone !== undefined && (anyone.reach === 'any_account' || principal.accountId === secret.accountId);
}

/**
 * One grant per path by which a reviewed principal reads a secret. A path through a resource
 * policy statement that names everyone (`*`) is left to the aws_anyone grant of the secret
 * (`anyone`, from externalReaders) when that grant covers the principal (coveredByAnyone); when no
 * aws_anyone grant came out, or it does not reach the principal's account, the principal gets a
 * grant of its own for that path, so no read goes unreported.
 */
export function secretReadGrants(
  inventory: Inventory,
  principal: IamPrincipal,
  secret: SecretRecord,
  access: SecretAccess,
  config: Pick<AwsConfig, 'automaticRemediation'>,
  anyone?: ExternalReader,
): Grant[] {
  const account = inventory.accounts.get(secret.accountId);
  const key = inventory.keys.get(secret.keyArn);
  const covered = coveredByAnyone(anyone, principal, secret);
  return access.paths
    .filter((path) => !path.anyPrincipalOnly || !covered)
    .map((path) => {
      const flags: GrantFlag[] = access.crossAccount ? ['cross_account'] : [];
      const conditions = [...path.conditions, ...access.kmsConditions];
      return makeGrant(secretKey(secret, principal.type, principal.arn, path.via), {
        raw: {
          ...secretRaw(secret, account, key),
          principalName: principal.name,
          principalAccountId: principal.accountId,
          statements: path.statements,
          kmsStatements: access.kmsStatements,
          ...(conditions.length > 0 ? { conditions } : {}),
          ...(path.via.kind === 'identity_policy'
            ? { automaticRemediation: isAutomatic(policyRefOf(path.via.policy), config) }
            : {}),
          ...(access.crossAccount
            ? {
                crossAccount: `the principal is in account ${principal.accountId}: AWS needs both its identity policy and the secret's resource policy, so both sides' statements are listed and revoking at the resource policy suffices`,
              }
            : {}),
          ...(path.namedAs === 'account'
            ? {
                namedAs: `the resource policy names the whole account ${principal.accountId}, not this principal`,
              }
            : path.anyPrincipalOnly
              ? {
                  namedAs: `the resource policy names every principal ("*"), not this one, and its conditions admit this principal; no aws_anyone grant of this secret reaches account ${principal.accountId}, so this grant stands for the read`,
                }
              : {}),
          ...(mayCarrySessionTags(principal) && conditions.some((text) => text.includes('aws:PrincipalTag/'))
            ? {
                principalTags:
                  "unknown: the role's trust policy allows sts:TagSession, so a session may carry any tag and the aws:PrincipalTag conditions decide",
              }
            : {}),
        },
        flags,
      });
    });
}

const UNKNOWN_IDENTITY_SIDE =
  'unknown: the principal is in no reviewed account, so its own policies were assumed to allow the read';

/** The grant of a principal the resource policy names that is in no reviewed account (or `*`). */
export function externalReadGrant(inventory: Inventory, secret: SecretRecord, reader: ExternalReader): Grant {
  const flags: GrantFlag[] = [];
  if (reader.crossAccount) flags.push('cross_account');
  if (reader.principalType === 'aws_anyone') flags.push('any_principal');
  return makeGrant(secretKey(secret, reader.principalType, reader.principal, { kind: 'resource_policy' }), {
    raw: {
      ...secretRaw(secret, inventory.accounts.get(secret.accountId), inventory.keys.get(secret.keyArn)),
      statements: reader.statements,
      kmsStatements: reader.kmsStatements,
      ...(reader.conditions.length > 0 ? { conditions: reader.conditions } : {}),
      identitySide:
        reader.principalType === 'aws_service'
          ? 'an AWS service, acting as the resource policy allows (kms:Decrypt not evaluated: the service makes that call itself)'
          : reader.principalType === 'aws_anyone'
            ? `every principal ${reader.reach === 'any_account' ? 'of every account' : `of account ${secret.accountId}`} that the statement's conditions admit (principals that read only through it get no grant of their own: this one stands for them)`
            : UNKNOWN_IDENTITY_SIDE,
    },
    flags,
  });
}

function pathLabel(path: ReadPath): string {
  const label = viaLabel(path.via);
  return path.anyPrincipalOnly ? `${label} (a statement naming every principal)` : label;
}

/** IAM entity types to read for a check of one principal: only what can hold its policies. */
function filterFor(type: IamPrincipal['type']): EntityType[] {
  return type === 'iam_user'
    ? ['User', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy']
    : ['Role', 'LocalManagedPolicy', 'AWSManagedPolicy'];
}

/**
 * Every path by which `principal` can read the secret now, read fresh: DescribeSecret,
 * GetResourcePolicy, DescribeKey and GetKeyPolicy, and for a principal of a reviewed account that
 * account's GetAccountAuthorizationDetails (filtered to the entity types that can hold its
 * policies). 'absent' when the secret or the principal no longer exists, or no path remains.
 */
export async function currentReadPaths(
  context: AwsContext,
  secretArn: string,
  principalType: Grant['principalType'],
  principal: string,
): Promise<AccessPath[]> {
  const target = secretTarget({ grantId: '', resource: secretArn, resourceType: 'aws_secret', raw: {} });
  const keys = newKeyCache();
  const secret = await readOneSecret(context, target, keys);
  if (secret === 'not_found') return [];
  const inventory: Inventory = {
    accounts: new Map(
      context.config.accounts.map((account) => [
        account.accountId,
        { accountId: account.accountId, ...(account.name ? { name: account.name } : {}) },
      ]),
    ),
    principals: [],
    secrets: [secret],
    keys: keys.byArn,
  };
  const principalAccount = accountOfArn(principal);
  if (
    (principalType === 'iam_user' || principalType === 'iam_role') &&
    principalAccount &&
    context.clients.isConfigured(principalAccount)
  ) {
    const iam = await readAccountIam(context.clients, principalAccount, 'read', filterFor(principalType));
    const found = iam.principals.find((item) => item.arn === principal);
    if (!found) return [];
    const access = await evaluateSecretRead(inventory, found, secret, context.simulator);
    return (access?.paths ?? []).map((path) => ({ via: pathLabel(path), permission: 'read' }));
  }
  if (principalType === 'aws_anyone') {
    const readers = await externalReaders(inventory, secret, context.simulator, context.warn);
    return readers
      .filter((reader) => reader.principalType === 'aws_anyone')
      .map(() => ({ via: 'resource_policy', permission: 'read' }));
  }
  if (
    principalType !== 'aws_account' &&
    principalType !== 'iam_role' &&
    principalType !== 'iam_user' &&
    principalType !== 'aws_service'
  ) {
    return [];
  }
  // An outsider reads through any statement that names it, its account or every principal: the
  // statement a revoke removed it from may not have been the only one.
  const reads = await outsiderReadsNow(inventory, secret, principalType, principal, context.simulator);
  return reads ? [{ via: externalPathLabel(reads.statements), permission: 'read' }] : [];
}

function externalPathLabel(statements: string[]): string {
  return statements.length > 0 ? `resource_policy (allowed by ${statements.join(', ')})` : 'resource_policy';
}

/** Reads the secret, its key and the principal's policies again: absent, or present with every path. */
export async function checkSecretRead(context: AwsContext, grant: Grant): Promise<CheckResult> {
  const paths = await currentReadPaths(context, grant.resource, grant.principalType, grant.principal);
  const checkedAt = isoNow(context);
  return paths.length === 0 ? { status: 'absent', checkedAt } : { status: 'present', checkedAt, paths };
}
