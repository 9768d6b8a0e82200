import { GetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { TableRef } from './table';

type Item = Record<string, unknown>;

/** Every item of a partition whose sort key starts with `prefix`, following LastEvaluatedKey. */
export async function queryAll<T extends Item>(
  table: TableRef,
  partitionKey: string,
  prefix: string,
  options: { indexName?: string; consistent?: boolean } = {},
): Promise<T[]> {
  const items: T[] = [];
  for await (const page of queryPages<T>(table, partitionKey, prefix, options)) items.push(...page);
  return items;
}

export async function* queryPages<T extends Item>(
  table: TableRef,
  partitionKey: string,
  prefix: string,
  options: {
    indexName?: string;
    consistent?: boolean;
    pageSize?: number;
    /** Only these attributes come back (the item is still read whole, and paid for). */
    projection?: readonly string[];
  } = {},
): AsyncGenerator<T[]> {
  const [pkName, skName] = options.indexName
    ? [`${options.indexName}pk`, `${options.indexName}sk`]
    : ['pk', 'sk'];
  let startKey: Item | undefined;
  do {
    // DynamoDB rejects an empty string in a key condition, so "the whole partition" is asked
    // without begins_with (dynalite would accept it; the real service would not).
    const names: Record<string, string> =
      prefix === '' ? { '#pk': pkName } : { '#pk': pkName, '#sk': skName };
    // Attribute names go through placeholders: several (status, at…) are DynamoDB reserved words.
    const projected = options.projection?.map((name, index) => {
      names[`#p${index}`] = name;
      return `#p${index}`;
    });
    const input: QueryCommandInput = {
      TableName: table.tableName,
      KeyConditionExpression: prefix === '' ? '#pk = :pk' : '#pk = :pk AND begins_with(#sk, :prefix)',
      ExpressionAttributeNames: names,
      ProjectionExpression: projected?.join(', '),
      ExpressionAttributeValues:
        prefix === '' ? { ':pk': partitionKey } : { ':pk': partitionKey, ':prefix': prefix },
      ExclusiveStartKey: startKey,
      // Index reads cannot be strongly consistent; table reads are, so a just-written item is seen.
      ConsistentRead: options.indexName ? undefined : (options.consistent ?? true),
      IndexName: options.indexName,
      Limit: options.pageSize,
    };
    const page = await table.client.send(new QueryCommand(input));
    yield (page.Items ?? []) as T[];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

export async function getItem<T extends Item>(
  table: TableRef,
  pk: string,
  sk: string,
): Promise<T | undefined> {
  const result = await table.client.send(
    new GetCommand({ TableName: table.tableName, Key: { pk, sk }, ConsistentRead: true }),
  );
  return result.Item as T | undefined;
}

/** Strip the table's own key attributes so callers see only the domain record. */
export function withoutKeys<T extends Item>(
  item: T,
): Omit<T, 'pk' | 'sk' | 'gsi1pk' | 'gsi1sk' | 'gsi2pk' | 'gsi2sk' | 'gsi3pk' | 'gsi3sk'> {
  const {
    pk: _pk,
    sk: _sk,
    gsi1pk: _a,
    gsi1sk: _b,
    gsi2pk: _c,
    gsi2sk: _d,
    gsi3pk: _e,
    gsi3sk: _f,
    ...rest
  } = item;
  return rest;
}
