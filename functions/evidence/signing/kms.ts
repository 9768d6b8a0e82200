import { createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { type ChainSigner, ChainSigningError, requireP256, spkiPem } from './signer';
import { CHAIN_SIGNING_ALGORITHM } from './statement';

/**
 * Signs with an asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY): the private key never leaves KMS,
 * kms:Sign is granted only to the workflow's functions, and CloudTrail logs every use. The key id
 * recorded with each signature is the key ARN KMS reports, so an auditor can ask KMS for the same
 * public key (`aws kms get-public-key --key-id <ARN>`): the stack passes the ARN, never an alias.
 */
export function kmsSigner(client: KMSClient, keyId: string): ChainSigner {
  let described: Promise<{ pem: string }> | undefined;
  const describe = async () => {
    const answer = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
    if (!answer.PublicKey || !answer.KeyId) {
      throw new ChainSigningError(`KMS returned no public key for ${keyId}`);
    }
    if (answer.KeySpec !== 'ECC_NIST_P256' || answer.KeyUsage !== 'SIGN_VERIFY') {
      throw new ChainSigningError(
        `KMS key ${answer.KeyId} is ${answer.KeySpec ?? 'of no spec'} for ${answer.KeyUsage ?? 'no usage'}; the chain is signed with an ECC_NIST_P256 SIGN_VERIFY key`,
      );
    }
    if (!answer.SigningAlgorithms?.includes(CHAIN_SIGNING_ALGORITHM)) {
      throw new ChainSigningError(`KMS key ${answer.KeyId} does not offer ${CHAIN_SIGNING_ALGORITHM}`);
    }
    const key = createPublicKey({ key: Buffer.from(answer.PublicKey), format: 'der', type: 'spki' });
    requireP256(key, `KMS key ${answer.KeyId}`);
    return { pem: spkiPem(key) };
  };
  const details = () => {
    described ??= describe().catch((error: unknown) => {
      // A refused or throttled read is tried again by the next call, not remembered.
      described = undefined;
      throw error;
    });
    return described;
  };
  return {
    keyId,
    algorithm: CHAIN_SIGNING_ALGORITHM,
    async sign(statement: Buffer): Promise<string> {
      // The key is checked (P-256, SIGN_VERIFY) before its first signature.
      await details();
      const answer = await client.send(
        new SignCommand({
          KeyId: keyId,
          Message: statement,
          MessageType: 'RAW',
          SigningAlgorithm: CHAIN_SIGNING_ALGORITHM,
        }),
      );
      if (!answer.Signature) throw new ChainSigningError(`KMS returned no signature from ${keyId}`);
      return Buffer.from(answer.Signature).toString('base64');
    },
    async publicKeyPem(): Promise<string> {
      return (await details()).pem;
    },
  };
}
