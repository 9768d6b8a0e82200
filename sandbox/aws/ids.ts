import { createHash, randomBytes } from 'node:crypto';

/*
 * Identifiers AWS would assign, derived from a hash of what they identify so that the same
 * scenario always yields the same ids and ARNs (tests and evidence files can name them).
 */

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function digest(parts: readonly string[]): Buffer {
  return createHash('sha256').update(parts.join('\u0000')).digest();
}

function encode(bytes: Buffer, alphabet: string, length: number): string {
  let out = '';
  for (let index = 0; index < length; index++)
    out += alphabet[bytes[index % bytes.length]! % alphabet.length];
  return out;
}

/** IAM's unique-id prefixes: role, user, group, managed policy. */
export type UniqueIdPrefix = 'AROA' | 'AIDA' | 'AGPA' | 'ANPA';

/** A stable IAM unique id (21 characters, like AROA3XFRBF535PLBIFPI4). */
export function uniqueId(prefix: UniqueIdPrefix, ...parts: string[]): string {
  return prefix + encode(digest([prefix, ...parts]), BASE32, 17);
}

/** Secrets Manager appends six random characters to a secret's name in its ARN; here they come from a hash. */
export function secretSuffix(accountId: string, region: string, name: string): string {
  return encode(digest(['secret', accountId, region, name]), ALPHANUMERIC, 6);
}

/** A stable UUID-shaped id (KMS key ids of the keys AWS creates for a service). */
export function stableUuid(...parts: string[]): string {
  const hex = digest(parts).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A long-term access key id (AKIA…) for the sandbox's base credentials. */
export function longTermAccessKeyId(...parts: string[]): string {
  return `AKIA${encode(digest(['access-key', ...parts]), BASE32, 16)}`;
}

/** Temporary credentials as STS mints them: ASIA… key, 40-character secret, opaque session token. */
export function temporaryCredentials(): {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
} {
  return {
    accessKeyId: `ASIA${encode(randomBytes(16), BASE32, 16)}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(96).toString('base64')}`,
  };
}

/** A secret answered by the sandbox's base credentials, derived from the key id. */
export function secretFor(accessKeyId: string): string {
  return digest(['secret', accessKeyId]).toString('base64').slice(0, 40);
}

export function iamArn(
  accountId: string,
  type: 'role' | 'user' | 'group' | 'policy',
  path: string,
  name: string,
) {
  return `arn:aws:iam::${accountId}:${type}${path}${name}`;
}

export function awsManagedPolicyArn(path: string, name: string): string {
  return `arn:aws:iam::aws:policy${path}${name}`;
}

export function requestId(): string {
  const hex = randomBytes(16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
