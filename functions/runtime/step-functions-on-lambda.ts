import { randomUUID } from 'node:crypto';
import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { awsClientConfig } from '../core/call-budget';
import type { LambdaEnvironment } from './aws';
import type { CampaignStartRequest, TaskCompleter } from './services';

/** The state machine the Slack endpoint may start (lib/aws/slack-endpoint.ts sets it and grants only it). */
export const STATE_MACHINE_ARN_VARIABLE = 'STATE_MACHINE_ARN';

/** SendTaskSuccess on Lambda, for the handlers that resume a workflow paused on a task token. */
export function stepFunctionsOnLambda(environment: LambdaEnvironment): TaskCompleter {
  const sfn = new SFNClient(awsClientConfig(environment.budgets.hub));
  return {
    async succeed(taskToken, output) {
      await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    },
  };
}

/**
 * StartExecution of the review workflow for `/access-review start`, with the input the quarterly
 * schedule sends plus the scope and reason. The execution name says where it came from and is
 * unique (the campaign id is derived from it): `slack-<time>-<8 hex>`.
 */
export function campaignStarterOnLambda(
  stateMachineArn: string,
  client: SFNClient = new SFNClient(awsClientConfig()),
  now: () => Date = () => new Date(),
): (input: CampaignStartRequest) => Promise<{ executionName: string }> {
  return async (input) => {
    const stamp = now().toISOString().replace(/[:.]/g, '-');
    const name = `${input.trigger}-${stamp}-${randomUUID().slice(0, 8)}`.slice(0, 80);
    await client.send(
      new StartExecutionCommand({
        stateMachineArn,
        name,
        input: JSON.stringify({
          trigger: input.trigger,
          requestedBy: input.requestedBy,
          scope: input.scope ?? [],
          reason: input.reason ?? null,
        }),
      }),
    );
    return { executionName: name };
  };
}
