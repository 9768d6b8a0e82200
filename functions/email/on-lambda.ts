import { awsClientConfig } from '../core/call-budget';
import type { LambdaEnvironment } from '../runtime/aws';
import { sesEmailSender } from './sender';
import type { EmailSender } from './types';

/**
 * The `email` capability (functions/runtime/aws.ts): SES v2 with the role's credentials, as the
 * configured sender, within the function's hub budget (5 s per attempt, 4 attempts). The role may
 * send only as the configured identity and From address (lib/aws/failure-alerts.ts). Nothing when
 * no email is configured.
 */
export function emailOnLambda(environment: LambdaEnvironment): EmailSender | undefined {
  const configured = environment.config.notifications?.email;
  return configured ? sesEmailSender(configured, awsClientConfig(environment.budgets.hub)) : undefined;
}
