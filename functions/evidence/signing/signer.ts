import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { AccessReviewError } from '../../core/errors';
import type { ChainSigningAlgorithm } from './statement';

/**
 * Signs chain heads with a key the table's writers cannot use: a KMS key whose kms:Sign only the
 * workflow's functions hold on AWS, a key file in the data directory on the embedded host.
 */
export interface ChainSigner {
  /** The KMS key ARN, or `local:<keySha256>` for the embedded host's key. */
  readonly keyId: string;
  readonly algorithm: ChainSigningAlgorithm;
  /** DER-encoded ECDSA signature over SHA-256 of `statement`, base64. */
  sign(statement: Buffer): Promise<string>;
  /** The public key as SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`). */
  publicKeyPem(): Promise<string>;
}

/** The signer could not sign (a key that is not P-256, a KMS answer without a signature…). */
export class ChainSigningError extends AccessReviewError {}

/**
 * A key's fingerprint: SHA-256 (hex) of its SubjectPublicKeyInfo DER, the bytes `aws kms
 * get-public-key` returns (base64) and `openssl pkey -pubin -outform der` writes.
 */
export function keyFingerprint(key: KeyObject | string): string {
  const object = typeof key === 'string' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(object.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** The SPKI PEM of a public key, one form for every signer (KMS gives DER). */
export function spkiPem(key: KeyObject): string {
  return String(key.export({ type: 'spki', format: 'pem' }));
}

/** Refuses a key that is not an EC key on P-256: signatures of any other key are never produced. */
export function requireP256(key: KeyObject, what: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ChainSigningError(`${what} is not an ECDSA P-256 key`);
  }
}
