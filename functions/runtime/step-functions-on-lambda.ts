import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { awsClientConfig } from '../core/call-budget';
import type { LambdaEnvironment } from './aws';
import type { TaskCompleter } from './services';

/** SendTaskSuccess on Lambda, for the handlers that resume a workflow paused on a task token. */
export function stepFunctionsOnLambda(environment: LambdaEnvironment): TaskCompleter {
  const sfn = new SFNClient(awsClientConfig(environment.budgets.hub));
  return {
    async succeed(taskToken, output) {
      await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    },
  };
}
