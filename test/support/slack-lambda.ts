import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { WebClient } from '@slack/web-api';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import type { AccessReviewConfig } from '../../functions/core/config';
import { requestReview } from '../../functions/steps/request-review';
import type { Store } from '../../functions/store/index';
import type { LocalDynamo } from '../../lib/local/dynamo';
import { type SlackSandbox, startSlackSandbox } from '../../sandbox/slack/server';
import { startTestStore, TEST_CONFIG, testServices } from './local-store';
import { seedReviewTask } from './review-task';

/**
 * The deployed Slack endpoint's surroundings, as the slack-events Lambda finds them on AWS: its
 * configuration, table and secret ARN in the environment, DynamoDB (dynalite, through
 * AWS_ENDPOINT_URL_DYNAMODB), and a review DM alice has open with two grants. Secrets Manager and
 * Step Functions have no local emulator, so they are mocked with responses shaped as in the AWS API
 * reference (GetSecretValue → SecretString; SendTaskSuccess → {}).
 */
export interface SlackLambdaFixture {
  dynamo: LocalDynamo;
  store: Store;
  slack: SlackSandbox;
  config: AccessReviewConfig;
  stepFunctions: AwsClientStub<SFNClient>;
  grantIds: string[];
  /** alice's DM. */
  channel: string;
  messageTs: string;
  close(): Promise<void>;
}

export const ALICE = { id: 'U0ALICE01', name: 'alice' };
export const BOB = { id: 'U0BOB0001', name: 'bob' };

export async function startSlackLambdaFixture(options: {
  table: string;
  campaignId: string;
  signingSecret: string;
  botToken: string;
  taskToken: string;
}): Promise<SlackLambdaFixture> {
  const secrets = mockClient(SecretsManagerClient);
  const stepFunctions = mockClient(SFNClient);
  const { dynamo, store } = await startTestStore(options.table);
  const slack = await startSlackSandbox({
    users: [
      { id: ALICE.id, name: 'alice', email: 'alice@acme.example' },
      { id: BOB.id, name: 'bob', email: 'bob@acme.example' },
    ],
    botToken: options.botToken,
  });
  const config = { ...TEST_CONFIG, slack: { apiUrl: slack.apiUrl } };
  const secretArn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:SlackCredentials-${options.table.slice(0, 6)}`;
  // The configuration as the stack delivers it: a file in the function's code directory, its
  // SHA-256 in the environment (the JSON variable is what earlier builds read).
  const configJson = JSON.stringify(config);
  const codeRoot = await mkdtemp(join(tmpdir(), 'slack-lambda-'));
  await writeFile(join(codeRoot, 'access-review.config.json'), configJson);
  Object.assign(process.env, {
    TABLE_NAME: options.table,
    LAMBDA_TASK_ROOT: codeRoot,
    ACCESS_REVIEW_CONFIG_SHA256: createHash('sha256').update(configJson).digest('hex'),
    ACCESS_REVIEW_CONFIG: configJson,
    SLACK_SECRET_ARN: secretArn,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  secrets.on(GetSecretValueCommand).resolves({
    ARN: secretArn,
    Name: 'SlackCredentials',
    SecretString: JSON.stringify({ botToken: options.botToken, signingSecret: options.signingSecret }),
    VersionId: 'b9f2c7e1-0000-4000-8000-000000000000',
    VersionStages: ['AWSCURRENT'],
  });
  stepFunctions.on(SendTaskSuccessCommand).resolves({});

  const grantIds = await seedReviewTask(store, {
    campaignId: options.campaignId,
    reviewer: 'alice',
    slackUserId: ALICE.id,
    principals: ['carol', 'gina'],
    entitlement: 'read',
  });
  await requestReview(
    { campaignId: options.campaignId, reviewer: 'alice', taskToken: options.taskToken },
    testServices(store, {
      config,
      slack: async () => new WebClient(options.botToken, { slackApiUrl: slack.apiUrl }),
    }),
  );
  const task = await store.tasks.get(options.campaignId, 'alice');
  if (!task?.channelId || !task.messageTs) throw new Error('RequestReview left no DM on the task');
  return {
    dynamo,
    store,
    slack,
    config,
    stepFunctions,
    grantIds,
    channel: task.channelId,
    messageTs: task.messageTs,
    close: async () => {
      secrets.restore();
      stepFunctions.restore();
      await slack.close();
      await dynamo.close();
      await rm(codeRoot, { recursive: true, force: true });
    },
  };
}
