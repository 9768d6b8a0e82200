import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetPublicKeyCommand, type GetPublicKeyCommandOutput, KMSClient } from '@aws-sdk/client-kms';
import { AccessReviewError } from '../../core/errors';
import type { PinnedKey } from './check';
import { LOCAL_SIGNING_KEY_FILE } from './local';
import { keyFingerprint, spkiPem } from './signer';

/**
 * Where `access-review evidence` takes the key it pins, from the authority it has and the folder
 * lacks: the data directory's own key file on the embedded host, KMS's public key for the stack's
 * key on AWS. The table's SIGNING_KEY# items are written by table writers and are never the root.
 */
export class SigningKeyPinError extends AccessReviewError {}

/**
 * The embedded host's key, as a pin: the public half of `<dataDir>/signing-key.pem`. Read only (a
 * data directory without a key file has never signed; nothing is created here): undefined then.
 */
export async function dataDirPin(dataDir: string): Promise<PinnedKey | undefined> {
  const path = join(dataDir, LOCAL_SIGNING_KEY_FILE);
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SigningKeyPinError(`cannot read the data directory's signing key ${path}`, { cause: error });
  }
  try {
    const publicKeyPem = spkiPem(createPublicKey(createPrivateKey(pem)));
    return { publicKeyPem, keySha256: keyFingerprint(publicKeyPem) };
  } catch (error) {
    throw new SigningKeyPinError(`${path} is not a private key`, { cause: error });
  }
}

/**
 * The stack's KMS key, as a pin: kms:GetPublicKey on the key ARN (stack output SigningKeyArn),
 * with the caller's default credentials. A refusal is one line naming the permission.
 */
export async function kmsPin(
  keyArn: string,
  options: { region?: string; client?: KMSClient } = {},
): Promise<PinnedKey> {
  const client = options.client ?? new KMSClient(options.region ? { region: options.region } : {});
  let answer: GetPublicKeyCommandOutput;
  try {
    answer = await client.send(new GetPublicKeyCommand({ KeyId: keyArn }));
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const denied = name === 'AccessDeniedException' || name === 'AccessDenied';
    throw new SigningKeyPinError(
      denied
        ? `KMS refused kms:GetPublicKey on ${keyArn} for your credentials: grant it, or pin the key with --key-fingerprint / --public-key`
        : `could not read the public key of ${keyArn} from KMS (${name}: ${error instanceof Error ? error.message : String(error)})`,
      { cause: error },
    );
  } finally {
    if (!options.client) client.destroy();
  }
  if (!answer.PublicKey) throw new SigningKeyPinError(`KMS returned no public key for ${keyArn}`);
  const key = createPublicKey({ key: Buffer.from(answer.PublicKey), format: 'der', type: 'spki' });
  const publicKeyPem = spkiPem(key);
  return { publicKeyPem, keySha256: keyFingerprint(publicKeyPem) };
}
