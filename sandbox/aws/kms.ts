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
import { MalformedPolicyError, parsePolicyText, simulatorPolicyProblems } from './documents';
import { AwsServiceError } from './errors';
import type { KmsKey } from './state';

/*
 * KMS, per account and region. Keys are named by id, key ARN, `alias/name` or alias ARN; an ARN
 * may name another account, whose key policy then decides. The key policy is the first authority
 * (IAM policies count only where it delegates to the account), which iam-simulate models.
 */

function notFound(keyId: string, where: { accountId: string; region: string }): AwsServiceError {
  if (keyId.startsWith('alias/')) {
    return new AwsServiceError(
      'NotFoundException',
      `Alias arn:aws:kms:${where.region}:${where.accountId}:${keyId} is not found.`,
    );
  }
  const arn = keyId.startsWith('arn:')
    ? keyId
    : `arn:aws:kms:${where.region}:${where.accountId}:key/${keyId}`;
  return new AwsServiceError('NotFoundException', `Key '${arn}' does not exist`);
}

/**
 * Finds the key (NotFoundException when there is none: without a key there is no key policy to
 * consult, so KMS says so whoever asks), then authorizes `kms:<action>` on it.
 */
async function keyFor(
  context: CallContext,
  input: OperationInput,
  action: string,
  options: { aliases: boolean; sameAccountOnly?: boolean },
): Promise<KmsKey> {
  const keyId = requiredString(context, input, 'KeyId');
  const where = { accountId: context.caller.accountId, region: context.region };
  const isAlias = keyId.startsWith('alias/') || /^arn:aws:kms:[^:]+:\d{12}:alias\//.test(keyId);
  if (isAlias && !options.aliases) {
    throw new AwsServiceError('NotFoundException', `Invalid keyId ${keyId}`);
  }
  const key = context.state.key(keyId, where);
  if (!key || key.region !== context.region) throw notFound(keyId, where);
  if (options.sameAccountOnly) sameAccountOnly(context, key);
  await context.authorize({
    action: `kms:${action}`,
    resource: key.arn,
    resourceAccount: key.accountId,
    resourcePolicy: key.policy.document,
    context: { 'kms:CallerAccount': context.caller.accountId },
  });
  return key;
}

const describeKey: Handler = async (context, input) => {
  const key = await keyFor(context, input, 'DescribeKey', { aliases: true });
  return {
    KeyMetadata: {
      KeyId: key.id,
      AWSAccountId: key.accountId,
      Arn: key.arn,
      CreationDate: key.createDate,
      Enabled: true,
      Description: key.description,
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: 'Enabled',
      Origin: 'AWS_KMS',
      KeyManager: key.manager,
      CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
      KeySpec: 'SYMMETRIC_DEFAULT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      MultiRegion: false,
    },
  };
};

function policyName(input: OperationInput): string {
  const name = optionalString(input, 'PolicyName') ?? 'default';
  // A key has one policy, and its name is "default".
  if (name !== 'default') throw new AwsServiceError('NotFoundException', `No such policy exists: ${name}`);
  return name;
}

/**
 * KMS operations that do not work across accounts (GetKeyPolicy, PutKeyPolicy: "Cross-account use:
 * No" in the API reference) look the key up in the caller's own account, whatever account a key
 * ARN names, so a key of another account is not found there, even when its key policy would
 * allow the call (the answer LocalStack gives too).
 */
function sameAccountOnly(context: CallContext, key: KmsKey): void {
  if (key.accountId !== context.caller.accountId) {
    throw new AwsServiceError('NotFoundException', `Key '${key.arn}' does not exist`);
  }
}

const getKeyPolicy: Handler = async (context, input) => {
  const key = await keyFor(context, input, 'GetKeyPolicy', { aliases: false, sameAccountOnly: true });
  return { Policy: key.policy.text, PolicyName: policyName(input) };
};

const putKeyPolicy: Handler = async (context, input) => {
  const key = await keyFor(context, input, 'PutKeyPolicy', { aliases: false, sameAccountOnly: true });
  policyName(input);
  const text = requiredString(context, input, 'Policy');
  try {
    const policy = parsePolicyText(text, 'resource');
    const problems = await simulatorPolicyProblems(policy.document, 'resource');
    if (problems.length > 0) throw new MalformedPolicyError(problems.join('; '));
    key.policy = policy;
  } catch (error) {
    if (!(error instanceof MalformedPolicyError)) throw error;
    throw new AwsServiceError('MalformedPolicyDocumentException', error.message);
  }
  return undefined;
};

const listAliases: Handler = async (context, input) => {
  await context.authorize({
    action: 'kms:ListAliases',
    resource: '*',
    resourceAccount: context.caller.accountId,
  });
  const limit = pageSize(context, input, 'Limit', { min: 1, max: 100, default: 50 });
  const offset = offsetOf('aliases', optionalString(input, 'Marker'));
  if (offset === undefined) throw new AwsServiceError('InvalidMarkerException', 'Invalid marker.');
  const { state, caller, region } = context;
  // AWS lists its managed aliases in every region.
  state.secretsManagerKey(caller.accountId, region);
  const keyId = optionalString(input, 'KeyId');
  const only = keyId === undefined ? undefined : state.key(keyId, { accountId: caller.accountId, region });
  if (keyId !== undefined && !only) throw notFound(keyId, { accountId: caller.accountId, region });
  const aliases = [...state.account(caller.accountId).keys.values()]
    .filter((key) => key.region === region && key.alias !== undefined && (!only || key === only))
    .map((key) => ({
      AliasName: `alias/${key.alias}`,
      AliasArn: `arn:aws:kms:${region}:${caller.accountId}:alias/${key.alias}`,
      TargetKeyId: key.id,
      CreationDate: key.createDate,
      LastUpdatedDate: key.createDate,
    }));
  const truncated = offset + limit < aliases.length;
  return {
    Aliases: aliases.slice(offset, offset + limit),
    Truncated: truncated,
    ...(truncated ? { NextMarker: pageToken('aliases', offset + limit) } : {}),
  };
};

export const kmsHandlers: Handlers = {
  DescribeKey: describeKey,
  GetKeyPolicy: getKeyPolicy,
  PutKeyPolicy: putKeyPolicy,
  ListAliases: listAliases,
};
