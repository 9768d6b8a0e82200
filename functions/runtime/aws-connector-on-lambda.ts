import { createAwsConnector } from '../connectors/aws/index';
import type { Connector } from '../connectors/connector';
import type { AccessReviewConfig } from '../core/config';
import type { LambdaEnvironment } from './aws';

/**
 * The AWS connector on Lambda: the function's own role assumes each member account's read or revoke
 * role (granted by the stack). Only snapshot, apply and verify declare it, and only their bundles
 * carry it (with the policy simulator installed beside them: lib/aws/functions.ts).
 */
export function awsConnectorOnLambda(
  environment: LambdaEnvironment,
  aws: NonNullable<AccessReviewConfig['aws']>,
): () => Promise<Connector> {
  let connector: Connector | undefined;
  return async () => {
    connector ??= createAwsConnector({
      config: aws,
      // The member-account calls' budget (functions/core/call-budget.ts).
      tuning: environment.budgets.awsConnector,
      warn: (message) => environment.log.warn(message),
    });
    return connector;
  };
}
