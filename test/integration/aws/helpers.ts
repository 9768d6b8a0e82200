import { expect } from 'vitest';
import {
  assumeSandboxRole,
  type SandboxClients,
  type SandboxCredentials,
  sandboxClients,
} from '../../../sandbox/aws/clients';
import { EXTERNAL_ID } from '../../../sandbox/aws/example';
import type { AwsSandbox } from '../../../sandbox/aws/server';

/** What the sandbox tests read of an error the AWS SDK throws. */
export interface AwsError {
  name: string;
  message: string;
  $metadata: { httpStatusCode?: number; attempts?: number };
}

/** The error a call failed with; fails the test when it succeeded. */
export async function failure(call: Promise<unknown>): Promise<AwsError> {
  try {
    await call;
  } catch (error) {
    return error as AwsError;
  }
  throw new Error('expected the call to fail');
}

/** A session of one of the example's member-account roles, which trust the hub only with the external id. */
export function assumeExampleRole(
  sandbox: AwsSandbox,
  roleArn: string,
): Promise<Required<SandboxCredentials>> {
  return assumeSandboxRole(sandbox, roleArn, { externalId: EXTERNAL_ID });
}

/** The SDK clients acting as a session of one of the example's member-account roles. */
export async function clientsAs(
  sandbox: AwsSandbox,
  roleArn: string,
  options: { maxAttempts?: number } = {},
): Promise<SandboxClients> {
  return sandboxClients(sandbox, { ...options, credentials: await assumeExampleRole(sandbox, roleArn) });
}

/** Closes the sandbox, failing the test if an exchange broke the SDK's models without it noticing. */
export async function closeChecked(sandbox: AwsSandbox): Promise<void> {
  expect(sandbox.violations).toEqual([]);
  await sandbox.close();
}
