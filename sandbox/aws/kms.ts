import { generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';
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
import { MalformedPolicyError, parsePolicyText, simulatorPolicyProblems, storedPolicy } from './documents';
import { AwsServiceError } from './errors';
import { type AwsState, defaultKeyPolicy, type KmsKey, keyArn } from './state';

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

/*
 * Asymmetric signing keys (ECC_NIST_P256, SIGN_VERIFY) hold a real P-256 key pair: Sign answers a
 * DER ECDSA signature that node:crypto or openssl verify with GetPublicKey's SubjectPublicKeyInfo.
 * The pair lives beside the key record, not in it: the scenario's keys are symmetric.
 */
interface SigningMaterial {
  privateKey: KeyObject;
  /** SubjectPublicKeyInfo DER, what GetPublicKey answers. */
  spki: Buffer;
}

const signingMaterial = new WeakMap<KmsKey, SigningMaterial>();

export const SIGNING_KEY_SPEC = 'ECC_NIST_P256';
const SIGNING_ALGORITHMS = ['ECDSA_SHA_256'] as const;
/** KMS signs at most 4096 bytes of RAW message. */
const MAX_RAW_MESSAGE_BYTES = 4096;

/**
 * Adds an ECC_NIST_P256 SIGN_VERIFY customer managed key to an account, as CreateKey would (the
 * stack creates it on AWS). Its key policy defaults to KMS's default policy (the account's IAM
 * policies decide); give one to name principals directly.
 */
export function addSigningKey(
  state: AwsState,
  options: { accountId: string; region: string; description?: string; policy?: string },
): KmsKey {
  const id = randomUUID();
  const key: KmsKey = {
    id,
    arn: keyArn(options.accountId, options.region, id),
    accountId: options.accountId,
    region: options.region,
    description: options.description ?? '',
    policy: options.policy
      ? parsePolicyText(options.policy, 'resource')
      : storedPolicy(defaultKeyPolicy(options.accountId), 'resource'),
    createDate: new Date(),
    manager: 'CUSTOMER',
  };
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  signingMaterial.set(key, { privateKey, spki: publicKey.export({ type: 'spki', format: 'der' }) });
  state.account(options.accountId).keys.set(id, key);
  return key;
}

function signingKeyOf(key: KmsKey, operation: string): SigningMaterial {
  const material = signingMaterial.get(key);
  if (!material) {
    // What KMS answers a symmetric key for an asymmetric operation.
    throw new AwsServiceError(
      'InvalidKeyUsageException',
      `${key.arn} key usage is ENCRYPT_DECRYPT which is not valid for ${operation}.`,
    );
  }
  return material;
}

const signMessage: Handler = async (context, input) => {
  const key = await keyFor(context, input, 'Sign', { aliases: true });
  const material = signingKeyOf(key, 'Sign');
  const algorithm = requiredString(context, input, 'SigningAlgorithm');
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new AwsServiceError(
      'InvalidKeyUsageException',
      `Algorithm ${algorithm} is incompatible with key spec ${SIGNING_KEY_SPEC}.`,
    );
  }
  const messageType = optionalString(input, 'MessageType') ?? 'RAW';
  if (messageType !== 'RAW') {
    throw new AwsServiceError(
      'NotImplemented',
      `The local AWS sandbox does not implement kms:Sign with MessageType ${messageType}.`,
      501,
    );
  }
  const message = Buffer.from(requiredString(context, input, 'Message'), 'base64');
  if (message.length > MAX_RAW_MESSAGE_BYTES) {
    throw new AwsServiceError(
      'ValidationException',
      `Digital signature messages of type RAW must be ${MAX_RAW_MESSAGE_BYTES} bytes or less.`,
    );
  }
  const signature = sign('sha256', message, { key: material.privateKey, dsaEncoding: 'der' });
  return { KeyId: key.arn, Signature: signature.toString('base64'), SigningAlgorithm: algorithm };
};

const getPublicKey: Handler = async (context, input) => {
  const key = await keyFor(context, input, 'GetPublicKey', { aliases: true });
  const material = signingMaterial.get(key);
  if (!material) {
    throw new AwsServiceError(
      'UnsupportedOperationException',
      `${key.arn} is a symmetric key: it has no public key.`,
    );
  }
  return {
    KeyId: key.arn,
    PublicKey: material.spki.toString('base64'),
    CustomerMasterKeySpec: SIGNING_KEY_SPEC,
    KeySpec: SIGNING_KEY_SPEC,
    KeyUsage: 'SIGN_VERIFY',
    SigningAlgorithms: [...SIGNING_ALGORITHMS],
  };
};

const describeKey: Handler = async (context, input) => {
  const key = await keyFor(context, input, 'DescribeKey', { aliases: true });
  const signing = signingMaterial.has(key);
  return {
    KeyMetadata: {
      KeyId: key.id,
      AWSAccountId: key.accountId,
      Arn: key.arn,
      CreationDate: key.createDate,
      Enabled: true,
      Description: key.description,
      KeyUsage: signing ? 'SIGN_VERIFY' : 'ENCRYPT_DECRYPT',
      KeyState: 'Enabled',
      Origin: 'AWS_KMS',
      KeyManager: key.manager,
      CustomerMasterKeySpec: signing ? SIGNING_KEY_SPEC : 'SYMMETRIC_DEFAULT',
      KeySpec: signing ? SIGNING_KEY_SPEC : 'SYMMETRIC_DEFAULT',
      ...(signing
        ? { SigningAlgorithms: [...SIGNING_ALGORITHMS] }
        : { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] }),
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
  Sign: signMessage,
  GetPublicKey: getPublicKey,
};
