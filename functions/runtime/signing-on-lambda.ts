import { KMSClient } from '@aws-sdk/client-kms';
import { awsClientConfig } from '../core/call-budget';
import { kmsSigner } from '../evidence/signing/kms';
import type { ChainSigner } from '../evidence/signing/signer';
import { type LambdaEnvironment, requiredEnv } from './aws';

/** The variable lib/aws/functions.ts sets on every signsChain function: the signing key's ARN. */
export const SIGNING_KEY_ARN_VARIABLE = 'ACCESS_REVIEW_SIGNING_KEY_ARN';

/**
 * The stack's asymmetric KMS key (ECC_NIST_P256), for the handlers whose catalogue entry says
 * signsChain: only they hold kms:Sign on it, and only they bundle the KMS client.
 */
export function signerOnLambda(environment: LambdaEnvironment): ChainSigner {
  return kmsSigner(
    new KMSClient(awsClientConfig(environment.budgets.hub)),
    requiredEnv(SIGNING_KEY_ARN_VARIABLE),
  );
}
