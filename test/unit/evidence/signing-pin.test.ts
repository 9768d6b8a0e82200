import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsSigner } from '../../../functions/evidence/signing/kms';
import { kmsPin, SigningKeyPinError } from '../../../functions/evidence/signing/pin';
import { keyFingerprint } from '../../../functions/evidence/signing/signer';
import { sandboxClients } from '../../../sandbox/aws/clients';
import { exampleAwsScenario, HUB_ACCOUNT, REGION } from '../../../sandbox/aws/example';
import { addSigningKey } from '../../../sandbox/aws/kms';
import { type AwsSandbox, startAwsSandbox } from '../../../sandbox/aws/server';

/*
 * `evidence --signing-key-arn`: the pin is KMS's public key for the stack's key, read with
 * kms:GetPublicKey against the AWS sandbox's KMS (key policy enforced, requests schema-checked).
 */

const policyFor = (principal: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: principal },
        Action: ['kms:Sign', 'kms:GetPublicKey', 'kms:DescribeKey'],
        Resource: '*',
      },
    ],
  });

let sandbox: AwsSandbox;
beforeAll(async () => {
  sandbox = await startAwsSandbox(exampleAwsScenario());
});
afterAll(async () => {
  expect(sandbox.violations).toEqual([]);
  await sandbox.close();
});

describe('kmsPin', () => {
  it("pins the KMS key's own public key (the one its signatures verify with)", async () => {
    const { kms } = sandboxClients(sandbox, { region: REGION });
    const caller = `arn:aws:iam::${HUB_ACCOUNT}:role/access-review-functions`;
    const key = addSigningKey(sandbox.state, {
      accountId: HUB_ACCOUNT,
      region: REGION,
      policy: policyFor(caller),
    });
    const pin = await kmsPin(key.arn, { client: kms });
    const signerKey = await kmsSigner(kms, key.arn).publicKeyPem();
    expect(pin.keySha256).toBe(keyFingerprint(signerKey));
    expect(pin.publicKeyPem).toBe(signerKey);
  });

  it('says in one line that KMS refused, and what to do instead', async () => {
    const { kms } = sandboxClients(sandbox, { region: REGION, maxAttempts: 1 });
    const key = addSigningKey(sandbox.state, {
      accountId: HUB_ACCOUNT,
      region: REGION,
      policy: policyFor(`arn:aws:iam::${HUB_ACCOUNT}:role/someone-else`),
    });
    const refused = await kmsPin(key.arn, { client: kms }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SigningKeyPinError);
    expect(String((refused as Error).message)).toBe(
      `KMS refused kms:GetPublicKey on ${key.arn} for your credentials: grant it, or pin the key with --key-fingerprint / --public-key`,
    );
  });
});
