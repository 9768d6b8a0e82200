import type { AwsConfig } from '../../core/config';
import { accountOfArn, describeVia, type Grant } from '../../core/grant';
import type { CheckResult, Connector, PolicyChange, RevokeResult } from '../connector';
import { AwsClients, type AwsTuning } from './clients';
import type { AwsContext, PreparedRevoke } from './context';
import type { BaseCredentials } from './credentials';
import { AwsGrantError } from './errors';
import { type EvaluationStats, evaluateSecretRead, externalReaders, newStats, Simulator } from './evaluate';
import { prepareIdentityPolicyRevoke } from './identity-policy';
import {
  type AccountInfo,
  type IamPrincipal,
  type Inventory,
  readAccountIam,
  type SecretRecord,
} from './inventory';
import { oidcGrants, type RoleRead } from './oidc-roles';
import { prepareResourcePolicyRevoke } from './resource-policy';
import {
  checkSecretRead,
  coveredByAnyone,
  currentReadPaths,
  externalReadGrant,
  newKeyCache,
  readRegionSecrets,
  secretReadGrants,
} from './secrets';
import { checkTrust, prepareTrustRevoke } from './trust-policy';

export interface AwsConnectorOptions {
  /** The `aws` section of the configuration. */
  config: AwsConfig;
  /** What the connector starts from; absent: the SDK's default chain (in Lambda, the function's role). */
  credentials?: BaseCredentials;
  now?: () => Date;
  warn?: (message: string) => void;
  /** Timeouts and retry budget of every AWS call. */
  tuning?: AwsTuning;
  /** Region of the STS endpoint that assumes member roles (default AWS_REGION, else us-east-1). */
  stsRegion?: string;
}

/** The AWS connector, with what its evaluations cost (for benchmarks and the run report). */
export interface AwsConnector extends Connector {
  /** Always present for AWS: the documents a revoke would write (see Connector.plan). */
  plan(grant: Grant): Promise<PolicyChange[]>;
  /** Pairs of principal and secret looked at and simulated, simulations run and their total time. */
  evaluationStats(): EvaluationStats;
}

function describe(grant: Grant): string {
  return `${grant.principal} ${grant.entitlement} on ${grant.resource} ${describeVia(grant.via)} (${grant.grantId})`;
}

/**
 * Access that follows from other grants has nothing of its own to remove: an OIDC subject reads a
 * secret because a role trusts it and the role reads the secret. The error names what to revoke.
 */
function refuseDerived(grant: Grant): never {
  const instead =
    grant.via.kind === 'assumed_role'
      ? `revoke the trust of ${grant.principal} in role ${grant.via.role} (its oidc_role_trust grant), or the role's own read of ${grant.resource}`
      : 'revoke the grant it follows from';
  const parents = grant.derivedFrom.length > 0 ? ` (grants ${grant.derivedFrom.join(', ')})` : '';
  throw new AwsGrantError(
    `grant ${describe(grant)} is derived and cannot be revoked at AWS: ${instead}${parents}`,
  );
}

function classify(grant: Grant, context: AwsContext): 'secret_read' | 'oidc_role_trust' {
  if (grant.connector !== 'aws') {
    throw new AwsGrantError(`grant ${grant.grantId} belongs to connector ${grant.connector}, not aws`);
  }
  if (grant.grantKind !== 'secret_read' && grant.grantKind !== 'oidc_role_trust') {
    throw new AwsGrantError(
      `grant ${describe(grant)} is of kind ${String(grant.grantKind)}, which the AWS connector does not know`,
    );
  }
  const account = accountOfArn(grant.resource);
  if (!account || !context.clients.isConfigured(account)) {
    throw new AwsGrantError(`grant ${describe(grant)} is not in a configured AWS account`);
  }
  return grant.grantKind;
}

/** Reads every configured account: IAM once per account, secrets and keys per region. */
async function readInventory(context: AwsContext): Promise<Inventory> {
  const accounts = new Map<string, AccountInfo>(
    context.config.accounts.map((account) => [
      account.accountId,
      { accountId: account.accountId, ...(account.name ? { name: account.name } : {}) },
    ]),
  );
  const principals: IamPrincipal[] = [];
  const secrets: SecretRecord[] = [];
  const keys = newKeyCache();
  for (const account of context.config.accounts) {
    const iam = await readAccountIam(context.clients, account.accountId, 'read');
    principals.push(...iam.principals);
    for (const region of account.regions) {
      secrets.push(...(await readRegionSecrets(context, account.accountId, region, keys)));
    }
  }
  return { accounts, principals, secrets, keys: keys.byArn };
}

/**
 * AWS as a Connector: who can read each secret of the configured accounts and regions (by every
 * path, evaluated with iam-simulate), which GitHub OIDC subjects can assume which role (and so
 * read what the role reads); revoke at the resource policy, the trust policy, or (where configured)
 * the identity policy, recording every document changed; check by reading everything again.
 */
export function createAwsConnector(options: AwsConnectorOptions): AwsConnector {
  const clients = new AwsClients({
    config: options.config,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.tuning ? { tuning: options.tuning } : {}),
    ...(options.stsRegion ? { stsRegion: options.stsRegion } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const stats = newStats();
  const context: AwsContext = {
    clients,
    config: options.config,
    now: options.now ?? (() => new Date()),
    warn: options.warn ?? ((message) => console.warn(message)),
    simulator: new Simulator(stats),
  };

  return {
    name: 'aws',

    async *snapshot(): AsyncGenerator<Grant> {
      const inventory = await readInventory(context);
      const readsByRole = new Map<string, RoleRead[]>();
      for (const secret of inventory.secrets) {
        // Outsiders first: whether an aws_anyone grant stands for reads through `*` decides
        // which reviewed principals need a grant of their own for them.
        const readers = await externalReaders(inventory, secret, context.simulator, context.warn);
        const external = readers.map((reader) => ({
          reader,
          grant: externalReadGrant(inventory, secret, reader),
        }));
        const anyone = external.find((item) => item.reader.principalType === 'aws_anyone');
        for (const principal of inventory.principals) {
          const access = await evaluateSecretRead(inventory, principal, secret, context.simulator);
          if (!access) continue;
          const grants = secretReadGrants(
            inventory,
            principal,
            secret,
            access,
            context.config,
            anyone?.reader,
          );
          if (principal.type === 'iam_role') {
            // What the role reads, for the OIDC subjects that assume it: its own grants, and reads
            // through `*` that the aws_anyone grant stands for.
            const reads: RoleRead[] = grants.map((grant) => ({ grant, secretName: secret.name }));
            if (
              anyone &&
              access.paths.some((path) => path.anyPrincipalOnly) &&
              coveredByAnyone(anyone.reader, principal, secret)
            ) {
              reads.push({ grant: anyone.grant, secretName: secret.name });
            }
            if (reads.length > 0)
              readsByRole.set(principal.arn, [...(readsByRole.get(principal.arn) ?? []), ...reads]);
          }
          yield* grants;
        }
        for (const item of external) yield item.grant;
      }
      for (const role of inventory.principals) {
        if (role.type !== 'iam_role' || !role.trustPolicy) continue;
        const account = inventory.accounts.get(role.accountId) ?? { accountId: role.accountId };
        yield* oidcGrants(role, account, context.config.githubOidcProvider, readsByRole.get(role.arn) ?? []);
      }
    },

    async revoke(grant: Grant): Promise<RevokeResult> {
      const prepared = await prepareRevoke(context, grant);
      return 'result' in prepared ? prepared.result : prepared.apply();
    },

    async plan(grant: Grant): Promise<PolicyChange[]> {
      // The same reads and edit as revoke, nothing written: the documents it would write, in the
      // order it would write them; none for a remediation or an access already gone.
      const prepared = await prepareRevoke(context, grant);
      return 'changes' in prepared ? prepared.changes : [];
    },

    async check(grant: Grant): Promise<CheckResult> {
      const kind = classify(grant, context);
      if (kind === 'oidc_role_trust') return checkTrust(context, grant);
      if (grant.via.kind === 'assumed_role') return checkAssumedRead(context, grant, grant.via.role);
      return checkSecretRead(context, grant);
    },

    // The roles it assumes in each account: revoking their reads would blind or disarm the tool.
    ownIdentities: async () =>
      context.config.accounts.flatMap((account) => [
        account.readRoleArn,
        ...(account.revokeRoleArn ? [account.revokeRoleArn] : []),
      ]),

    usage: () => clients.usage.usage(),

    evaluationStats: () => ({ ...stats }),
  };
}

/** What a revoke of the grant reads and would write, by its kind and path. */
function prepareRevoke(context: AwsContext, grant: Grant): Promise<PreparedRevoke> {
  const kind = classify(grant, context);
  if (!grant.reviewable || grant.via.kind === 'assumed_role') refuseDerived(grant);
  if (kind === 'oidc_role_trust') return prepareTrustRevoke(context, grant);
  if (grant.via.kind === 'resource_policy') return prepareResourcePolicyRevoke(context, grant);
  if (grant.via.kind === 'identity_policy') return prepareIdentityPolicyRevoke(context, grant);
  throw new AwsGrantError(
    `grant ${describe(grant)}: the AWS connector cannot revoke access ${describeVia(grant.via)}`,
  );
}

/**
 * An OIDC subject reads a secret while the role still admits the subject and the role still reads
 * the secret (by any path).
 */
async function checkAssumedRead(context: AwsContext, grant: Grant, roleArn: string): Promise<CheckResult> {
  const checkedAt = () => context.now().toISOString();
  const trust = await checkTrust(context, {
    ...grant,
    grantKind: 'oidc_role_trust',
    resourceType: 'iam_role',
    resource: roleArn,
  });
  if (trust.status === 'absent') return { status: 'absent', checkedAt: checkedAt() };
  const paths = await currentReadPaths(context, grant.resource, 'iam_role', roleArn);
  return paths.length === 0
    ? { status: 'absent', checkedAt: checkedAt() }
    : {
        status: 'present',
        checkedAt: checkedAt(),
        paths: [{ via: `assumed_role:${roleArn}`, permission: 'read' }],
      };
}
