import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { queryAll } from '../../../functions/store/query';
import type { TableRef } from '../../../functions/store/table';

/** Records the Query inputs the store sends; dynalite accepts inputs that DynamoDB rejects. */
function recordingTable(pages: Array<Record<string, unknown>[]>) {
  const inputs: Array<Record<string, unknown>> = [];
  const client = {
    send: async (command: { input: Record<string, unknown> }) => {
      inputs.push(command.input);
      const index = inputs.length - 1;
      return {
        Items: pages[index] ?? [],
        LastEvaluatedKey: index + 1 < pages.length ? { pk: 'next' } : undefined,
      };
    },
  } as unknown as DynamoDBDocumentClient;
  const table: TableRef = { client, tableName: 'access-review' };
  return { table, inputs };
}

describe('queryAll', () => {
  it('asks for a whole partition without an empty begins_with, which DynamoDB rejects', async () => {
    const { table, inputs } = recordingTable([[{ sk: 'A' }]]);
    await queryAll(table, 'CAMPAIGN#c', '');
    expect(inputs[0]?.KeyConditionExpression).toBe('#pk = :pk');
    expect(inputs[0]?.ExpressionAttributeValues).toEqual({ ':pk': 'CAMPAIGN#c' });
  });

  it('follows LastEvaluatedKey through every page, strongly consistent on the table', async () => {
    const { table, inputs } = recordingTable([[{ sk: 'GRANT#1' }], [{ sk: 'GRANT#2' }]]);
    const items = await queryAll(table, 'CAMPAIGN#c', 'GRANT#');
    expect(items.map((item) => item.sk)).toEqual(['GRANT#1', 'GRANT#2']);
    expect(inputs[1]?.ExclusiveStartKey).toEqual({ pk: 'next' });
    expect(inputs[0]?.ConsistentRead).toBe(true);
  });

  it('never asks an index for a consistent read (DynamoDB refuses it on a GSI)', async () => {
    const { table, inputs } = recordingTable([[]]);
    await queryAll(table, 'CAMPAIGN#c#REVIEWER#bob', '', { indexName: 'gsi1' });
    expect(inputs[0]?.IndexName).toBe('gsi1');
    expect(inputs[0]?.ConsistentRead).toBeUndefined();
    expect(inputs[0]?.ExpressionAttributeNames).toEqual({ '#pk': 'gsi1pk' });
  });
});
