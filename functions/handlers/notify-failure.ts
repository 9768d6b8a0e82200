import { awsClientConfig, awsHubBudget } from '../core/call-budget';
import { emailOnLambda } from '../email/on-lambda';
import { lambdaHandler } from '../runtime/aws';
import { slackOnLambda } from '../runtime/slack-on-lambda';
import { notifyFailure } from '../steps/notify-failure';
import { createTableRef, type TableRef } from '../store/table';

/**
 * Target of the stack's EventBridge rule on failed, timed-out and aborted executions (not a
 * workflow step, so no `run`). The embedded host has no EventBridge: it calls `notifyFailure`
 * itself with its own table and sender.
 */
let table: TableRef | undefined;

/** Bundles only what it declares (functions/runtime/aws.ts); matches lib/aws/handlers.ts. */
export const handler = lambdaHandler(
  (event: unknown, services) => {
    // TABLE_NAME is set on every function; the services were built from it already.
    table ??= createTableRef(process.env.TABLE_NAME ?? '', awsClientConfig(awsHubBudget));
    // SES calls get the hub's AWS budget (5 s per attempt, 4 attempts): inside the 60 s function
    // next to the Slack call, which runs at the same time. The sender is services.email.
    return notifyFailure(event, services, { table });
  },
  { slack: slackOnLambda, email: emailOnLambda },
);
