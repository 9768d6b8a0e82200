import { createPublicKey, randomUUID, verify } from 'node:crypto';
import { DescribeKeyCommand, GetPublicKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsSigner } from '../../functions/evidence/signing/kms';
import { keyFingerprint } from '../../functions/evidence/signing/signer';
import { chainHeadStatement } from '../../functions/evidence/signing/statement';
import { sandboxClients } from '../../sandbox/aws/clients';
import { exampleAwsScenario, HUB_ACCOUNT, REGION } from '../../sandbox/aws/example';
import { addSigningKey } from '../../sandbox/aws/kms';
import { type AwsSandbox, startAwsSandbox } from '../../sandbox/aws/server';
import { keyArn } from '../../sandbox/aws/state';

/*
 * The KMS signer against the AWS sandbox's KMS: real P-256 keys, every request and answer checked
 * against the client's Smithy model (AWS_SANDBOX_SCHEMA=check), kms:Sign authorized by the key
 * policy as KMS does.
 */

const FUNCTIONS_ROLE = `arn:aws:iam::${HUB_ACCOUNT}:role/access-review-functions`;
const statement = chainHeadStatement('2026-Q4-abcdef12', 7, 'f'.repeat(64));

/** A key policy that lets exactly `principal` sign and read the public key (no delegation to IAM). */
function policyFor(principal: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'WorkflowSigns',
        Effect: 'Allow',
        Principal: { AWS: principal },
        Action: ['kms:Sign', 'kms:GetPublicKey', 'kms:DescribeKey'],
        Resource: '*',
      },
    ],
  });
}

let sandbox: AwsSandbox;
beforeAll(async () => {
  sandbox = await startAwsSandbox(exampleAwsScenario());
});
afterAll(async () => {
  expect(sandbox.violations).toEqual([]);
  await sandbox.close();
});

describe('KMS Sign and GetPublicKey in the sandbox', () => {
  it('signs with the key the policy lets the workflow use; node:crypto verifies with GetPublicKey', async () => {
    const key = addSigningKey(sandbox.state, {
      accountId: HUB_ACCOUNT,
      region: REGION,
      policy: policyFor(FUNCTIONS_ROLE),
    });
    const { kms } = sandboxClients(sandbox, { region: REGION });
    const signer = kmsSigner(kms, key.arn);
    const signature = await signer.sign(statement);
    const pem = await signer.publicKeyPem();
    expect(verify('sha256', statement, createPublicKey(pem), Buffer.from(signature, 'base64'))).toBe(true);
    expect(
      verify('sha256', Buffer.from('other'), createPublicKey(pem), Buffer.from(signature, 'base64')),
    ).toBe(false);
    // What `aws kms get-public-key` gives an auditor: the same SPKI, so the same fingerprint.
    const answer = await kms.send(new GetPublicKeyCommand({ KeyId: key.arn }));
    expect(
      keyFingerprint(createPublicKey({ key: Buffer.from(answer.PublicKey!), format: 'der', type: 'spki' })),
    ).toBe(keyFingerprint(pem));
    const described = await kms.send(new DescribeKeyCommand({ KeyId: key.arn }));
    expect(described.KeyMetadata).toMatchObject({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256' });
    expect(described.KeyMetadata?.SigningAlgorithms).toEqual(['ECDSA_SHA_256']);
  });

  it('refuses a caller the key policy does not name (AccessDeniedException)', async () => {
    const key = addSigningKey(sandbox.state, {
      accountId: HUB_ACCOUNT,
      region: REGION,
      policy: policyFor(`arn:aws:iam::${HUB_ACCOUNT}:role/someone-else`),
    });
    const signer = kmsSigner(sandboxClients(sandbox, { region: REGION }).kms, key.arn);
    await expect(signer.sign(statement)).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('answers a wrong algorithm, an oversized message and a symmetric key as KMS does', async () => {
    const key = addSigningKey(sandbox.state, {
      accountId: HUB_ACCOUNT,
      region: REGION,
      policy: policyFor(FUNCTIONS_ROLE),
    });
    const { kms } = sandboxClients(sandbox, { region: REGION, maxAttempts: 1 });
    await expect(
      kms.send(
        new SignCommand({
          KeyId: key.arn,
          Message: statement,
          MessageType: 'RAW',
          SigningAlgorithm: 'RSASSA_PSS_SHA_256',
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidKeyUsageException' });
    await expect(
      kms.send(
        new SignCommand({
          KeyId: key.arn,
          Message: Buffer.alloc(4097),
          MessageType: 'RAW',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    // The same key record without a key pair: a symmetric key the policy lets the workflow use.
    const id = randomUUID();
    const symmetric = keyArn(HUB_ACCOUNT, REGION, id);
    sandbox.state.account(HUB_ACCOUNT).keys.set(id, { ...key, id, arn: symmetric });
    const error = await kmsSigner(kms, symmetric)
      .publicKeyPem()
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('UnsupportedOperationException');
  });
});
