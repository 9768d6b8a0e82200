import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { type AwsCallBudget, awsClientConfig, awsConnectorBudget } from '../../core/call-budget';
import type { AwsAccountConfig, AwsConfig } from '../../core/config';
import { type BaseCredentials, RoleSessions } from './credentials';
import { AwsGrantError, awsFailure, isNotFound } from './errors';
import { type AwsService, UsageCounter } from './usage';

export { BoundedRetryStrategy } from '../../core/call-budget';

/**
 * Timeouts and the retry budget of every AWS call the connector makes. The defaults are
 * `awsConnectorBudget` in functions/core/call-budget.ts (the one place budgets are stated); tests
 * shrink the backoff so a retried throttle costs milliseconds.
 */
export type AwsTuning = Partial<AwsCallBudget>;

export interface AwsClientsOptions {
  config: AwsConfig;
  /** What the connector starts from; absent: the SDK's default chain (the Lambda's role). */
  credentials?: BaseCredentials;
  tuning?: AwsTuning;
  /** Region of the STS endpoint used to assume member roles (default: AWS_REGION, else us-east-1). */
  stsRegion?: string;
  now?: () => Date;
}

export type RoleKind = 'read' | 'revoke';

/** An SDK client acting as one member-account role. */
export interface RoleClient<C> {
  client: C;
  roleArn: string;
  accountId: string;
}

/** IAM has one global endpoint; the SDK signs it for us-east-1. */
const IAM_REGION = 'us-east-1';

/**
 * Every AWS client the connector uses, built on first use and kept: one per (role, service,
 * region). All of them share the usage counter, the timeouts and the retry budget, and send to
 * `config.endpoint` when one is configured (the local sandbox).
 */
export class AwsClients {
  readonly usage = new UsageCounter();
  readonly tuning: AwsCallBudget;
  private readonly sessions: RoleSessions;
  private readonly cache = new Map<string, unknown>();
  private readonly accounts: Map<string, AwsAccountConfig>;

  constructor(private readonly options: AwsClientsOptions) {
    this.tuning = { ...awsConnectorBudget, ...definedOnly(options.tuning ?? {}) };
    this.accounts = new Map(options.config.accounts.map((account) => [account.accountId, account]));
    const sts = new STSClient({
      ...this.common(options.stsRegion ?? process.env.AWS_REGION ?? 'us-east-1'),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
    this.usage.attach(sts, 'sts');
    this.sessions = new RoleSessions(sts, options.now ?? (() => new Date()));
  }

  get config(): AwsConfig {
    return this.options.config;
  }

  /** The configured account, or an error naming the accounts that are configured. */
  account(accountId: string): AwsAccountConfig {
    const account = this.accounts.get(accountId);
    if (!account) {
      throw new AwsGrantError(
        `AWS account ${accountId} is not configured (configured: ${[...this.accounts.keys()].join(', ')})`,
      );
    }
    return account;
  }

  isConfigured(accountId: string): boolean {
    return this.accounts.has(accountId);
  }

  /** The role to act as: the read role, or the revoke role (undefined when none is configured). */
  roleArn(accountId: string, kind: RoleKind): string | undefined {
    const account = this.account(accountId);
    return kind === 'read' ? account.readRoleArn : account.revokeRoleArn;
  }

  iam(accountId: string, kind: RoleKind): RoleClient<IAMClient> {
    return this.client(accountId, kind, 'iam', IAM_REGION, (config) => {
      const client = new IAMClient(config);
      this.usage.attach(client, 'iam');
      return client;
    });
  }

  secrets(accountId: string, region: string, kind: RoleKind): RoleClient<SecretsManagerClient> {
    return this.client(accountId, kind, 'secretsmanager', region, (config) => {
      const client = new SecretsManagerClient(config);
      this.usage.attach(client, 'secretsmanager');
      return client;
    });
  }

  kms(accountId: string, region: string, kind: RoleKind): RoleClient<KMSClient> {
    return this.client(accountId, kind, 'kms', region, (config) => {
      const client = new KMSClient(config);
      this.usage.attach(client, 'kms');
      return client;
    });
  }

  private client<C extends IAMClient | SecretsManagerClient | KMSClient>(
    accountId: string,
    kind: RoleKind,
    service: AwsService,
    region: string,
    build: (config: ReturnType<AwsClients['common']> & { credentials: AwsCredentialIdentityProvider }) => C,
  ): RoleClient<C> {
    const account = this.account(accountId);
    const roleArn = kind === 'read' ? account.readRoleArn : account.revokeRoleArn;
    if (!roleArn) {
      throw new AwsGrantError(`AWS account ${accountId} has no revokeRoleArn configured`);
    }
    const key = `${roleArn}\u0000${service}\u0000${region}`;
    let client = this.cache.get(key) as C | undefined;
    if (!client) {
      client = build({
        ...this.common(region),
        credentials: this.sessions.provider(roleArn, account.externalId),
      });
      this.cache.set(key, client);
    }
    return { client, roleArn, accountId };
  }

  private common(region: string) {
    return {
      region,
      ...(this.options.config.endpoint ? { endpoint: this.options.config.endpoint } : {}),
      ...awsClientConfig(this.tuning),
    };
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

/**
 * Runs one AWS call as `role`; a failure becomes a named error that names the IAM action, the
 * target and the role (so an AccessDenied says exactly what to grant to whom).
 */
export async function callAws<T>(
  role: Pick<RoleClient<unknown>, 'roleArn'>,
  action: string,
  target: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw awsFailure(error, action, role.roleArn, target);
  }
}

/** Like callAws, but "no such entity" is an answer (`not_found`), as when a check finds a role deleted. */
export async function callAwsOrNotFound<T>(
  role: Pick<RoleClient<unknown>, 'roleArn'>,
  action: string,
  target: string,
  call: () => Promise<T>,
): Promise<T | 'not_found'> {
  try {
    return await call();
  } catch (error) {
    if (isNotFound(error)) return 'not_found';
    throw awsFailure(error, action, role.roleArn, target);
  }
}
