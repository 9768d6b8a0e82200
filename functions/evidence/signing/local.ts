import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ChainSigner, ChainSigningError, keyFingerprint, requireP256, spkiPem } from './signer';
import { CHAIN_SIGNING_ALGORITHM } from './statement';

/** The embedded host's private key, beside the table in the data directory. */
export const LOCAL_SIGNING_KEY_FILE = 'signing-key.pem';

/**
 * The embedded host's signer: an ECDSA P-256 key generated the first time a data directory is
 * used, kept as PKCS#8 PEM readable by its owner only (0600). Whoever can read that file can sign,
 * which on a laptop is whoever can write the table too: locally the signature proves the chain was
 * not rewritten by something that could not read the key, no more.
 */
export async function localSigner(dataDir: string): Promise<ChainSigner> {
  const path = join(dataDir, LOCAL_SIGNING_KEY_FILE);
  return signerFor(await loadOrCreate(dataDir, path));
}

/**
 * A key that lives as long as the process: for an embedded host with no data directory (its table
 * is in memory too), so its chain is signed and its evidence verifies like any other.
 */
export function ephemeralLocalSigner(): ChainSigner {
  return signerFor(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
}

function signerFor(privateKey: KeyObject): ChainSigner {
  const publicKey = createPublicKey(privateKey);
  const pem = spkiPem(publicKey);
  return {
    keyId: `local:${keyFingerprint(publicKey)}`,
    algorithm: CHAIN_SIGNING_ALGORITHM,
    sign: async (statement) =>
      sign('sha256', statement, { key: privateKey, dsaEncoding: 'der' }).toString('base64'),
    publicKeyPem: async () => pem,
  };
}

async function loadOrCreate(dataDir: string, path: string): Promise<KeyObject> {
  await mkdir(dataDir, { recursive: true });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = String(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  try {
    // `wx`: two hosts starting on one directory at once keep the first key, never replace it.
    await writeFile(path, pem, { flag: 'wx', mode: 0o600 });
    // The mode above is filtered by the umask; the key is the owner's alone whatever it is.
    await chmod(path, 0o600);
    return privateKey;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  let existing: KeyObject;
  try {
    existing = createPrivateKey(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ChainSigningError(`${path} is not a private key PEM`, { cause: error });
  }
  requireP256(existing, path);
  return existing;
}
