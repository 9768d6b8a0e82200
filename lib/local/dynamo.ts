import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createTableRef, type TableRef } from '../../functions/store/table';
import { listenOnLoopback } from '../../sandbox/loopback';
import type { LocalTableSchema } from './synthesized-workflow';

export interface LocalDynamo {
  endpoint: string;
  table: TableRef;
  /** Another client on the same table, reporting each DynamoDB action it sends. */
  recordingTable(onCommand: (action: string) => void): TableRef;
  close(): Promise<void>;
}

/** Any credentials do for dynalite; fixed ones keep the SDK from looking for real ones. */
const LOCAL_CLIENT = {
  region: 'local',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};

/**
 * dynalite on loopback: in memory, or persisted (LevelDB) under `dataDir` so a later command can
 * read what an earlier one wrote. The table is created from the schema the CDK stack synthesizes,
 * so the local table cannot drift from the deployed one.
 */
export async function startLocalDynamo(options: {
  tableName: string;
  /** Asked for only when the table does not exist yet (synthesizing the stack takes seconds). */
  schema: LocalTableSchema | (() => LocalTableSchema);
  dataDir?: string;
}): Promise<LocalDynamo> {
  const server = dynalite({ path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const endpoint = await listenOnLoopback(server);
  const raw = new DynamoDBClient({ ...LOCAL_CLIENT, endpoint });
  try {
    await raw.send(new DescribeTableCommand({ TableName: options.tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    const schema = typeof options.schema === 'function' ? options.schema() : options.schema;
    await raw.send(
      new CreateTableCommand({
        TableName: options.tableName,
        BillingMode: schema.billingMode,
        KeySchema: schema.keySchema,
        AttributeDefinitions: schema.attributeDefinitions,
        GlobalSecondaryIndexes: schema.globalSecondaryIndexes,
      }),
    );
  }
  raw.destroy();
  const table = createTableRef(options.tableName, { ...LOCAL_CLIENT, endpoint });
  const recording: TableRef[] = [];
  return {
    endpoint,
    table,
    recordingTable(onCommand) {
      const ref = createTableRef(options.tableName, { ...LOCAL_CLIENT, endpoint }, onCommand);
      recording.push(ref);
      return ref;
    },
    async close() {
      table.client.destroy();
      for (const ref of recording) ref.client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
