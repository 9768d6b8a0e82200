import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsSandbox } from './server';

/** Credentials as the SDK takes them: the sandbox's base ones or what AssumeRole handed out. */
export interface SandboxCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SandboxClients {
  iam: IAMClient;
  sts: STSClient;
  secretsManager: SecretsManagerClient;
  kms: KMSClient;
}

/**
 * The real SDK clients pointed at the sandbox. IAM signs for us-east-1 whatever the region, as the
 * SDK does against AWS; the others sign for `region`, which selects the sandbox's regional data.
 */
export function sandboxClients(
  sandbox: AwsSandbox,
  options: { credentials?: SandboxCredentials; region?: string; maxAttempts?: number } = {},
): SandboxClients {
  const common = {
    endpoint: sandbox.url,
    credentials: options.credentials ?? sandbox.credentials,
    region: options.region ?? 'eu-west-1',
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
  };
  return {
    iam: new IAMClient({ ...common, region: 'us-east-1' }),
    sts: new STSClient(common),
    secretsManager: new SecretsManagerClient(common),
    kms: new KMSClient(common),
  };
}

/** AssumeRole with the given (default: the sandbox's base) credentials; the session's credentials. */
export async function assumeSandboxRole(
  sandbox: AwsSandbox,
  roleArn: string,
  options: { externalId?: string; sessionName?: string; credentials?: SandboxCredentials } = {},
): Promise<Required<SandboxCredentials>> {
  const { sts } = sandboxClients(sandbox, options.credentials ? { credentials: options.credentials } : {});
  const answer = await sts.send(
    new AssumeRoleCommand({
      RoleArn: roleArn,
      RoleSessionName: options.sessionName ?? 'sandbox-test',
      ...(options.externalId !== undefined ? { ExternalId: options.externalId } : {}),
    }),
  );
  const credentials = answer.Credentials;
  if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken) {
    throw new Error(`AssumeRole ${roleArn} answered without credentials`);
  }
  return {
    accessKeyId: credentials.AccessKeyId,
    secretAccessKey: credentials.SecretAccessKey,
    sessionToken: credentials.SessionToken,
  };
}
