import { decide } from './authorize';
import {
  type CallContext,
  type Handler,
  type Handlers,
  type OperationInput,
  offsetOf,
  optionalString,
  pageSize,
  pageToken,
  requiredString,
} from './context';
import {
  MalformedPolicyError,
  parsePolicyText,
  type StoredPolicy,
  simulatorPolicyProblems,
} from './documents';
import { AwsServiceError } from './errors';
import type { Secret } from './state';

/*
 * Secrets Manager, per account and region (the region of the request's credential scope). A
 * SecretId is a name (the caller's account), a full ARN or an ARN without the random suffix (any
 * account: cross-account access is then decided by the secret's resource policy and the caller's
 * identity policies together, as on AWS).
 */

const NOT_FOUND = "Secrets Manager can't find the specified secret.";

function notFound(message = NOT_FOUND): AwsServiceError {
  return new AwsServiceError('ResourceNotFoundException', message);
}

function tagContext(secret: Secret | undefined): Record<string, string> {
  const context: Record<string, string> = {};
  // iam-simulate knows aws:ResourceTag/ for secrets, not Secrets Manager's older secretsmanager:ResourceTag/.
  for (const [key, value] of Object.entries(secret?.tags ?? {})) context[`aws:ResourceTag/${key}`] = value;
  return context;
}

/** Authorizes `secretsmanager:<action>` on the secret a SecretId names, then finds it. */
async function secretFor(context: CallContext, input: OperationInput, action: string): Promise<Secret> {
  const secretId = requiredString(context, input, 'SecretId');
  const where = { accountId: context.caller.accountId, region: context.region };
  const found = context.state.secret(secretId, where);
  // A secret of another region is not reachable through this region's endpoint.
  const secret = found && found.region === context.region ? found : undefined;
  const arn = /^arn:aws:secretsmanager:([a-z0-9-]+):(\d{12}):secret:/.exec(secretId);
  await context.authorize({
    action: `secretsmanager:${action}`,
    resource:
      secret?.arn ??
      (arn ? secretId : `arn:aws:secretsmanager:${where.region}:${where.accountId}:secret:${secretId}`),
    resourceAccount: secret?.accountId ?? arn?.[2] ?? where.accountId,
    ...(secret?.resourcePolicy ? { resourcePolicy: secret.resourcePolicy.document } : {}),
    context: { ...(secret ? { 'secretsmanager:SecretId': secret.arn } : {}), ...tagContext(secret) },
  });
  if (!secret) throw notFound();
  return secret;
}

const tagList = (tags: Record<string, string>) =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/** What ListSecrets and DescribeSecret say of a secret. */
function describe(context: CallContext, secret: Secret) {
  return {
    ARN: secret.arn,
    Name: secret.name,
    ...(secret.description !== undefined ? { Description: secret.description } : {}),
    // Secrets under aws/secretsmanager carry no KmsKeyId, as on AWS.
    ...(secret.kmsKeyId ? { KmsKeyId: context.state.keyOfSecret(secret).arn } : {}),
    RotationEnabled: false,
    LastChangedDate: secret.lastChangedDate,
    ...(secret.lastAccessedDate ? { LastAccessedDate: secret.lastAccessedDate } : {}),
    Tags: tagList(secret.tags),
    CreatedDate: secret.createDate,
  };
}

const FILTER_KEYS = ['name', 'description', 'tag-key', 'tag-value', 'all'] as const;

function matchesFilters(
  secret: Secret,
  filters: ReadonlyArray<{ Key?: string; Values?: string[] }>,
): boolean {
  return filters.every((filter) => {
    const values = (filter.Values ?? []).map((value) => value.toLowerCase());
    const fields: Record<(typeof FILTER_KEYS)[number], string[]> = {
      name: [secret.name],
      description: [secret.description ?? ''],
      'tag-key': Object.keys(secret.tags),
      'tag-value': Object.values(secret.tags),
      all: [
        secret.name,
        secret.description ?? '',
        ...Object.keys(secret.tags),
        ...Object.values(secret.tags),
      ],
    };
    const candidates = fields[filter.Key as (typeof FILTER_KEYS)[number]].map((field) => field.toLowerCase());
    // Secrets Manager's filters match by prefix.
    return values.some((value) => candidates.some((candidate) => candidate.startsWith(value)));
  });
}

const listSecrets: Handler = async (context, input) => {
  await context.authorize({
    action: 'secretsmanager:ListSecrets',
    resource: '*',
    resourceAccount: context.caller.accountId,
  });
  const filters = (input.Filters as Array<{ Key?: string; Values?: string[] }> | undefined) ?? [];
  for (const filter of filters) {
    if (!(FILTER_KEYS as readonly string[]).includes(filter.Key ?? '')) {
      throw new AwsServiceError(
        'InvalidParameterException',
        `The sandbox filters ListSecrets by ${FILTER_KEYS.join(', ')} only, not by ${filter.Key}.`,
      );
    }
  }
  const maxResults = pageSize(context, input, 'MaxResults', { min: 1, max: 100, default: 100 });
  const offset = offsetOf('secrets', optionalString(input, 'NextToken'));
  if (offset === undefined)
    throw new AwsServiceError('InvalidNextTokenException', 'The NextToken value is invalid.');
  const secrets = [...context.state.account(context.caller.accountId).secrets.values()]
    .filter((secret) => secret.region === context.region)
    .filter((secret) => matchesFilters(secret, filters));
  if (input.SortOrder === 'asc' || input.SortOrder === 'desc') {
    const sign = input.SortOrder === 'asc' ? 1 : -1;
    secrets.sort((a, b) => sign * (a.createDate.getTime() - b.createDate.getTime()));
  }
  const more = offset + maxResults < secrets.length;
  return {
    SecretList: secrets.slice(offset, offset + maxResults).map((secret) => ({
      ...describe(context, secret),
      SecretVersionsToStages: { [secret.versionId]: ['AWSCURRENT'] },
    })),
    ...(more ? { NextToken: pageToken('secrets', offset + maxResults) } : {}),
  };
};

const describeSecret: Handler = async (context, input) => {
  const secret = await secretFor(context, input, 'DescribeSecret');
  return { ...describe(context, secret), VersionIdsToStages: { [secret.versionId]: ['AWSCURRENT'] } };
};

const getResourcePolicy: Handler = async (context, input) => {
  const secret = await secretFor(context, input, 'GetResourcePolicy');
  return {
    ARN: secret.arn,
    Name: secret.name,
    ...(secret.resourcePolicy ? { ResourcePolicy: secret.resourcePolicy.text } : {}),
  };
};

/** Whether a statement allows everyone without a condition (what BlockPublicPolicy refuses). */
function grantsPublicAccess(policy: StoredPolicy): boolean {
  const statements = [policy.document.Statement].flat() as Array<Record<string, unknown>>;
  return statements.some((statement) => {
    if (statement.Effect !== 'Allow' || statement.Condition !== undefined) return false;
    const principal = statement.Principal;
    const aws =
      typeof principal === 'object' && principal !== null ? (principal as { AWS?: unknown }).AWS : principal;
    return [aws].flat().includes('*');
  });
}

const putResourcePolicy: Handler = async (context, input) => {
  const secret = await secretFor(context, input, 'PutResourcePolicy');
  const text = requiredString(context, input, 'ResourcePolicy');
  let policy: StoredPolicy;
  try {
    policy = parsePolicyText(text, 'resource');
    const problems = await simulatorPolicyProblems(policy.document, 'resource');
    if (problems.length > 0) throw new MalformedPolicyError(problems.join('; '));
  } catch (error) {
    if (!(error instanceof MalformedPolicyError)) throw error;
    throw new AwsServiceError(
      'MalformedPolicyDocumentException',
      `This resource policy contains a syntax error. ${error.message}`,
    );
  }
  if (input.BlockPublicPolicy === true && grantsPublicAccess(policy)) {
    throw new AwsServiceError(
      'PublicPolicyException',
      'This resource policy will grant public access to the secret.',
    );
  }
  secret.resourcePolicy = policy;
  return { ARN: secret.arn, Name: secret.name };
};

const deleteResourcePolicy: Handler = async (context, input) => {
  const secret = await secretFor(context, input, 'DeleteResourcePolicy');
  delete secret.resourcePolicy;
  return { ARN: secret.arn, Name: secret.name };
};

const getSecretValue: Handler = async (context, input) => {
  const secret = await secretFor(context, input, 'GetSecretValue');
  const versionId = optionalString(input, 'VersionId');
  const stage = optionalString(input, 'VersionStage');
  if (versionId !== undefined && versionId !== secret.versionId) {
    throw notFound(`Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
  }
  if (stage !== undefined && stage !== 'AWSCURRENT') {
    throw notFound(`Secrets Manager can't find the specified secret value for staging label: ${stage}`);
  }
  // Secrets Manager decrypts with the caller's permissions on the key, through kms:ViaService.
  const key = context.state.keyOfSecret(secret);
  const decryption = await decide(context.state, context.caller, 'kms', {
    action: 'kms:Decrypt',
    resource: key.arn,
    resourceAccount: key.accountId,
    resourcePolicy: key.policy.document,
    region: secret.region,
    context: {
      'kms:ViaService': `secretsmanager.${secret.region}.amazonaws.com`,
      'kms:CallerAccount': context.caller.accountId,
      'kms:EncryptionContext:SecretARN': secret.arn,
      'kms:EncryptionContext:SecretVersionId': secret.versionId,
      'aws:ViaAWSService': 'true',
    },
  });
  if (!decryption.allowed) throw new AwsServiceError('AccessDeniedException', 'Access to KMS is not allowed');
  const today = new Date();
  // AWS records the last access by day.
  secret.lastAccessedDate = new Date(
    Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()),
  );
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: secret.versionId,
    SecretString: secret.value,
    VersionStages: ['AWSCURRENT'],
    CreatedDate: secret.lastChangedDate,
  };
};

export const secretsManagerHandlers: Handlers = {
  ListSecrets: listSecrets,
  DescribeSecret: describeSecret,
  GetResourcePolicy: getResourcePolicy,
  PutResourcePolicy: putResourcePolicy,
  DeleteResourcePolicy: deleteResourcePolicy,
  GetSecretValue: getSecretValue,
};
