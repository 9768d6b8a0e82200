import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AccessReviewError } from '../../functions/core/errors';
import { createTableRef, GSI_BY_RESOURCE, type TableRef } from '../../functions/store/table';

export const DEFAULT_DATA_DIR = '.access-review/data';
/** Only the table's shape is taken from it, and that does not depend on the configuration. */
const EXAMPLE_CONFIG = 'config/access-review.example.yaml';

/** Where a command reads: the deployed table (`--table`) or the embedded host's, on disk. */
export interface TableOptions {
  table?: string;
  region?: string;
  dataDir: string;
}

export interface OpenTable {
  table: TableRef;
  /** "table access-review-Table-1A2B in eu-west-1" or "the local table in .access-review/data". */
  where: string;
  deployed: boolean;
  close(): Promise<void>;
}

/**
 * The deployed table through the AWS SDK's usual credential chain (environment, profile, SSO,
 * instance or container role) and region (`--region`, else AWS_REGION or the profile's), or the
 * local table the embedded host keeps under `--data-dir`.
 */
export async function openTable(options: TableOptions): Promise<OpenTable> {
  if (options.table) {
    const table = createTableRef(options.table, options.region ? { region: options.region } : {});
    let region = options.region;
    try {
      region ??= await table.client.config.region();
    } catch (error) {
      table.client.destroy();
      throw new TableAccessError(
        `no AWS region for table ${options.table}: pass --region or set AWS_REGION (or a region in your AWS profile)`,
        { cause: error },
      );
    }
    return {
      table,
      where: `table ${options.table} in ${region}`,
      deployed: true,
      close: async () => table.client.destroy(),
    };
  }
  await mkdir(options.dataDir, { recursive: true });
  // Loaded only for the local table: the embedded host's modules bring the CDK stack with them.
  const [{ loadConfigFile }, { startLocalDynamo }, { LOCAL_TABLE_NAME }, { synthesizeForLocalHost }] =
    await Promise.all([
      import('../aws/config-file'),
      import('../local/dynamo'),
      import('../local/host'),
      import('../local/synthesized-workflow'),
    ]);
  // The table's shape comes from the synthesized stack, as in every other local command.
  const dynamo = await startLocalDynamo({
    tableName: LOCAL_TABLE_NAME,
    schema: () => synthesizeForLocalHost(loadConfigFile(EXAMPLE_CONFIG)).table,
    dataDir: resolve(options.dataDir),
  });
  return {
    table: dynamo.table,
    where: `the local table in ${options.dataDir}`,
    deployed: false,
    close: () => dynamo.close(),
  };
}

/** Reading the table failed for a reason the person running the command can act on. */
export class TableAccessError extends AccessReviewError {}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

/**
 * What went wrong with the table, in words, or undefined when the error is not about access (the
 * caller rethrows it as it is). DynamoDB's own messages carry no secrets: they name the caller's
 * ARN, the action and the resource, which is what the reader needs to ask for.
 */
export function explainTableError(
  error: unknown,
  opened: Pick<OpenTable, 'where' | 'deployed'>,
): TableAccessError | undefined {
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new TableAccessError(
      `no AWS credentials to read ${opened.where}: set AWS_PROFILE (after \`aws sso login\` if it is an SSO profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role is available`,
      { cause: error },
    );
  }
  if (['UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException'].includes(name)) {
    return new TableAccessError(`AWS refused the credentials for ${opened.where} (${name}): ${message}`, {
      cause: error,
    });
  }
  if (/AccessDenied/.test(name)) {
    const denied = /not authorized to perform: (\S+) on resource: (\S+)/.exec(message);
    return new TableAccessError(
      denied
        ? `access denied: your AWS identity may not call ${denied[1]} on ${denied[2]}; the evidence reader policy grants what every read command needs (README, Deploying to AWS)`
        : `access denied reading ${opened.where}: ${message}`,
      { cause: error },
    );
  }
  if (name === 'ResourceNotFoundException') {
    return new TableAccessError(
      `${opened.where} does not exist (or this identity cannot see it): check --table (the stack's TableName output), --region and the account your credentials belong to`,
      { cause: error },
    );
  }
  const missingIndex = /does not have the specified index: (\S+)/.exec(message);
  if (name === 'ValidationException' && missingIndex) {
    return new TableAccessError(
      missingIndex[1] === GSI_BY_RESOURCE
        ? `${opened.where} has no index ${GSI_BY_RESOURCE} (history by resource): ${
            opened.deployed
              ? 'deploy this release of the stack, which adds it'
              : 'this local table was created by an earlier release; use a new --data-dir'
          }`
        : `${opened.where} has no index ${missingIndex[1]}: ${message}`,
      { cause: error },
    );
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (
    (typeof code === 'string' &&
      ['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN'].includes(code)) ||
    name === 'TimeoutError'
  ) {
    return new TableAccessError(`cannot reach DynamoDB for ${opened.where}: ${message}`, { cause: error });
  }
  if (/Region is missing/i.test(message)) {
    return new TableAccessError(`no AWS region: pass --region or set AWS_REGION`, { cause: error });
  }
  return undefined;
}

/**
 * Runs `work` against the table and closes it; a failure to reach or read the table becomes a
 * TableAccessError whose message says what to do (the CLI prints it without a stack trace).
 */
export async function withTable<T>(
  options: TableOptions,
  work: (opened: OpenTable) => Promise<T>,
): Promise<T> {
  const opened = await openTable(options);
  try {
    return await work(opened);
  } catch (error) {
    throw explainTableError(error, opened) ?? error;
  } finally {
    await opened.close();
  }
}
