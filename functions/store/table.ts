import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsClientConfig } from '../core/call-budget';

/**
 * The single table. Every item of a campaign shares the partition `CAMPAIGN#<id>`, so one Query
 * reads a campaign back for evidence; the sort key says what the item is:
 *
 *   META                    the campaign
 *   GRANT#<grantId>         a grant as snapshotted (+ its reviewer once assigned)
 *   TASK#<login>            one review task per reviewer (holds the Step Functions task token)
 *   DECISION#<grantId>      the one decision on a grant (written once, conditionally)
 *   REVOCATION#<grantId>    what the connector did to remove it
 *   VERIFICATION#<grantId>  what reading the source again showed
 *   EVENT#<seq>             the append-only, hash-chained event log
 *
 * gsi1: a reviewer's grants (`CAMPAIGN#<id>#REVIEWER#<login>`, `GRANT#<grantId>`).
 * gsi2: campaigns by start time (`CAMPAIGN`, `<startedAt>#<id>`), and a principal's grants across
 *       campaigns (`PRINCIPAL#<holder or principal>`, see history.ts).
 * gsi3: a resource's grants across campaigns (`RESOURCE#<resource>`, see history.ts).
 * The grant, decision, revocation and verification items of a grant carry the same gsi2 and gsi3
 * keys, so one Query returns a grant with what was decided and done about it.
 */
export const GSI_BY_REVIEWER = 'gsi1';
export const GSI_CAMPAIGNS = 'gsi2';
/** The principal history shares gsi2 with the campaign list (one new index per release, see lib/aws/table.ts). */
export const GSI_BY_PRINCIPAL = 'gsi2';
export const GSI_BY_RESOURCE = 'gsi3';

export const keys = {
  campaign: (campaignId: string) => `CAMPAIGN#${campaignId}`,
  meta: 'META',
  grant: (grantId: string) => `GRANT#${grantId}`,
  task: (reviewer: string) => `TASK#${reviewer.toLowerCase()}`,
  decision: (grantId: string) => `DECISION#${grantId}`,
  revocation: (grantId: string) => `REVOCATION#${grantId}`,
  verification: (grantId: string) => `VERIFICATION#${grantId}`,
  event: (seq: number) => `EVENT#${String(seq).padStart(10, '0')}`,
  reviewerGrants: (campaignId: string, reviewer: string) =>
    `CAMPAIGN#${campaignId}#REVIEWER#${reviewer.toLowerCase()}`,
} as const;

export interface TableRef {
  client: DynamoDBDocumentClient;
  tableName: string;
}

/**
 * The client times out and retries within functions/core/call-budget.ts's hub budget unless
 * `clientConfig` says otherwise (the interactivity endpoint passes its shorter budget).
 * `onCommand` sees the name of every DynamoDB API call (`PutItem`, `Query`, …) before it is sent:
 * the embedded host uses it to prove each handler calls only what its IAM policy allows.
 */
export function createTableRef(
  tableName: string,
  clientConfig: DynamoDBClientConfig = {},
  onCommand?: (action: string) => void,
): TableRef {
  const base = new DynamoDBClient({ ...awsClientConfig(), ...clientConfig });
  if (onCommand) {
    base.middlewareStack.add(
      (next, context) => (args) => {
        onCommand(String(context.commandName).replace(/Command$/, ''));
        return next(args);
      },
      { step: 'initialize', name: 'recordDynamoDBAction' },
    );
  }
  const client = DynamoDBDocumentClient.from(base, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  return { client, tableName };
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
