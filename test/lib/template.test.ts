import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configJsonOf, configSha256Of } from '../../functions/runtime/config-file';
import { HANDLERS, type HandlerName } from '../../lib/aws/handlers';
import {
  actionsOf,
  functionLogicalId,
  type Json,
  kmsKeyIds,
  policiesOfRole,
  resourcesOfType,
  roleOfFunction,
  type SynthesizedStack,
  statementsOf,
  synthesizeStack,
} from './support';

let synth: SynthesizedStack;

beforeAll(() => {
  synth = synthesizeStack();
  // A synth takes 3–8 s on an idle machine; the allowance is for a loaded one.
}, 180_000);
afterAll(() => synth?.dispose());

/** The Object Lock bucket (the other bucket holds its access logs). */
function evidenceBucketId(): string {
  const ids = Object.entries(resourcesOfType(synth.template, 'AWS::S3::Bucket'))
    .filter(([, bucket]) => bucket.Properties?.ObjectLockEnabled === true)
    .map(([id]) => id);
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

function onlyLogicalId(type: string): string {
  const ids = Object.keys(resourcesOfType(synth.template, type));
  expect(ids, type).toHaveLength(1);
  return ids[0]!;
}

describe('evidence table', () => {
  it('is pay-per-request, restorable, undeletable, retained and encrypted with the CMK', () => {
    const keyId = kmsKeyIds(synth.template).encryption;
    const tableId = onlyLogicalId('AWS::DynamoDB::Table');
    const table = synth.template.toJSON().Resources[tableId];
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      },
    });
    expect(table.Properties.TimeToLiveSpecification).toBeUndefined();
    synth.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('has pk/sk and the three GSIs with every attribute projected', () => {
    synth.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith(
        ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'gsi3pk', 'gsi3sk'].map((name) => ({
          AttributeName: name,
          AttributeType: 'S',
        })),
      ),
      GlobalSecondaryIndexes: ['gsi1', 'gsi2', 'gsi3'].map((index) => ({
        IndexName: index,
        KeySchema: [
          { AttributeName: `${index}pk`, KeyType: 'HASH' },
          { AttributeName: `${index}sk`, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    });
  });
});

/**
 * The indexes the previous release deployed. CloudFormation cannot update a deployed table that
 * gains two GSIs at once (DynamoDB builds one at a time), so a release may add at most one; when a
 * release ships, its indexes become this list.
 */
const PREVIOUS_RELEASE_INDEXES = ['gsi1', 'gsi2'];

describe('table updates', () => {
  it('keeps every index of the previous release unchanged and adds at most one', () => {
    const table = Object.values(resourcesOfType(synth.template, 'AWS::DynamoDB::Table'))[0]!;
    const indexes = table.Properties!.GlobalSecondaryIndexes as Array<{ IndexName: string; KeySchema: Json }>;
    const names = indexes.map((index) => index.IndexName);
    for (const previous of PREVIOUS_RELEASE_INDEXES) {
      expect(names).toContain(previous);
      expect(indexes.find((index) => index.IndexName === previous)?.KeySchema).toEqual([
        { AttributeName: `${previous}pk`, KeyType: 'HASH' },
        { AttributeName: `${previous}sk`, KeyType: 'RANGE' },
      ]);
    }
    expect(names.filter((name) => !PREVIOUS_RELEASE_INDEXES.includes(name)).length).toBeLessThanOrEqual(1);
  });
});

describe('functions', () => {
  it('builds exactly the catalogue, on Node 22 / arm64, each with its own retained, encrypted log group', () => {
    const functions = resourcesOfType(synth.template, 'AWS::Lambda::Function');
    const handlers = Object.values(functions).map(
      (fn) => (fn.Metadata as Record<string, unknown>)['access-review:handler'],
    );
    expect(handlers.sort()).toEqual(HANDLERS.map((spec) => spec.name).sort());
    const logGroups = resourcesOfType(synth.template, 'AWS::Logs::LogGroup');
    for (const spec of HANDLERS) {
      const fn = functions[functionLogicalId(synth.template, spec.name)]!;
      expect(fn.Properties, spec.name).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Timeout: spec.timeout.toSeconds(),
      });
      const logGroupRef = (fn.Properties!.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(logGroups[logGroupRef]?.Properties, spec.name).toEqual({
        RetentionInDays: 365,
        KmsKeyId: { 'Fn::GetAtt': [kmsKeyIds(synth.template).encryption, 'Arn'] },
      });
    }
  });

  it('gives every function the table, the config and only the secret ARNs it reads; no secret value', () => {
    const secretIds = {
      github: Object.keys(resourcesOfType(synth.template, 'AWS::SecretsManager::Secret')).find((id) =>
        id.includes('GitHub'),
      ),
      slack: Object.keys(resourcesOfType(synth.template, 'AWS::SecretsManager::Secret')).find((id) =>
        id.includes('Slack'),
      ),
    };
    const functions = resourcesOfType(synth.template, 'AWS::Lambda::Function');
    for (const spec of HANDLERS) {
      const fn = functions[functionLogicalId(synth.template, spec.name)]!;
      const variables = (fn.Properties!.Environment as { Variables: Record<string, Json> }).Variables;
      const expected: Record<string, Json> = {
        TABLE_NAME: { Ref: onlyLogicalId('AWS::DynamoDB::Table') },
        ACCESS_REVIEW_CONFIG_SHA256: configSha256Of(synth.config),
        ACCESS_REVIEW_HANDLER: spec.name,
        NODE_OPTIONS: '--enable-source-maps',
      };
      for (const secret of spec.secrets) {
        expected[`${secret.toUpperCase()}_SECRET_ARN`] = { Ref: secretIds[secret]! };
      }
      // The anchor's settings, only where the catalogue grants their use.
      if (spec.signsChain) {
        expected.ACCESS_REVIEW_SIGNING_KEY_ARN = { 'Fn::GetAtt': [kmsKeyIds(synth.template).signing, 'Arn'] };
      }
      if (spec.archivesEvidence) {
        expected.ACCESS_REVIEW_EVIDENCE_BUCKET = { Ref: evidenceBucketId() };
        expected.ACCESS_REVIEW_EVIDENCE_RETENTION_DAYS = '548';
      }
      // `/access-review start`: the state machine the Slack endpoint may start (lib/aws/slack-endpoint.ts).
      if (spec.name === 'slack-events') {
        expected.STATE_MACHINE_ARN = { Ref: onlyLogicalId('AWS::StepFunctions::StateMachine') };
      }
      expect(variables, spec.name).toEqual(expected);
      // Anything that looks like a credential must be a reference to a secret, never a value. The
      // signing key's ARN names a key whose private half never leaves KMS.
      for (const [name, value] of Object.entries(variables)) {
        if (name === 'ACCESS_REVIEW_SIGNING_KEY_ARN') continue;
        if (/SECRET|TOKEN|PASSWORD|KEY/i.test(name)) {
          expect(name, spec.name).toMatch(/_SECRET_ARN$/);
          expect(value, name).toEqual({ Ref: expect.stringMatching(/Credentials/) });
        }
      }
      // The configuration travels as a file in the code package (its hash above); it holds no credential.
      expect(configJsonOf(synth.config)).not.toMatch(/xox[bp]-|ghp_|github_pat_|signingSecret|"token"/);
    }
  });

  it('grants each function exactly its catalogue DynamoDB actions, secrets and Step Functions calls', () => {
    const stateMachineId = onlyLogicalId('AWS::StepFunctions::StateMachine');
    const secrets = resourcesOfType(synth.template, 'AWS::SecretsManager::Secret');
    const secretIdOf = (name: string) => Object.keys(secrets).find((id) => id.toLowerCase().includes(name))!;
    for (const spec of HANDLERS) {
      const statements = statementsOf(
        policiesOfRole(
          synth.template,
          roleOfFunction(synth.template, functionLogicalId(synth.template, spec.name)),
        ),
      );
      const actions = statements.flatMap(actionsOf);
      expect(actions, spec.name).not.toContain('dynamodb:*');
      expect(actions.filter((action) => action.startsWith('dynamodb:')).sort(), spec.name).toEqual(
        spec.tableActions.map((action) => `dynamodb:${action}`).sort(),
      );

      const secretStatements = statements.filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('secretsmanager:')),
      );
      const secretResources = secretStatements.flatMap((statement) => [statement.Resource].flat());
      expect(secretStatements.flatMap(actionsOf), spec.name).toEqual(
        spec.secrets.length > 0 ? ['secretsmanager:GetSecretValue'] : [],
      );
      expect(secretResources, spec.name).toEqual(spec.secrets.map((name) => ({ Ref: secretIdOf(name) })));

      const stepFunctions = statements.filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('states:')),
      );
      if (spec.completesReviewTasks) {
        // The review tasks' answers, and `/access-review start` (slack-events is the only one).
        expect(stepFunctions, spec.name).toEqual([
          {
            Effect: 'Allow',
            Action: ['states:SendTaskSuccess', 'states:StartExecution'],
            Resource: { Ref: stateMachineId },
          },
        ]);
      } else {
        expect(stepFunctions, spec.name).toEqual([]);
      }
      expect(
        actions.some((action) => action.endsWith('*') && !action.startsWith('kms:')),
        spec.name,
      ).toBe(false);
    }
    expect(HANDLERS.filter((spec) => spec.completesReviewTasks).map((spec) => spec.name)).toEqual([
      'slack-events',
    ]);
  });
});

describe('the anchor outside the table', () => {
  const roleIdOf = (name: HandlerName) =>
    roleOfFunction(synth.template, functionLogicalId(synth.template, name));
  const roleArn = (name: HandlerName) => ({ 'Fn::GetAtt': [roleIdOf(name), 'Arn'] });

  it('names exactly the signsChain roles in the signing key policy, allowed and excepted from the Deny', () => {
    const { signing } = kmsKeyIds(synth.template);
    const key = resourcesOfType(synth.template, 'AWS::KMS::Key')[signing]!;
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(key.DeletionPolicy).toBe('Retain');
    const statements = statementsOf([key.Properties!.KeyPolicy!]) as Array<
      ReturnType<typeof statementsOf>[number] & { Sid?: string; Principal?: Json }
    >;
    const signers = HANDLERS.filter((spec) => spec.signsChain).map((spec) => roleArn(spec.name));
    const bySid = (sid: string) => statements.find((statement) => statement.Sid === sid);
    expect(new Set((bySid('WorkflowFunctionsSign')!.Principal as { AWS: Json[] }).AWS)).toEqual(
      new Set(signers),
    );
    expect(
      new Set(
        (bySid('NobodyElseSigns')!.Condition as { ArnNotEquals: { 'aws:PrincipalArn': Json[] } })
          .ArnNotEquals['aws:PrincipalArn'],
      ),
    ).toEqual(new Set(signers));
    expect(JSON.stringify(statements)).not.toContain('"kms:*"');
  });

  it('gives kms:Sign and the key ARN only to signsChain functions, and the bucket only to archivesEvidence ones', () => {
    const { signing } = kmsKeyIds(synth.template);
    const functions = resourcesOfType(synth.template, 'AWS::Lambda::Function');
    for (const spec of HANDLERS) {
      const statements = statementsOf(policiesOfRole(synth.template, roleIdOf(spec.name)));
      const signs = statements.filter((statement) => actionsOf(statement).includes('kms:Sign'));
      expect(
        signs.map((statement) => ({ ...statement, Action: actionsOf(statement).sort() })),
        spec.name,
      ).toEqual(
        spec.signsChain
          ? [
              {
                Effect: 'Allow',
                Action: ['kms:GetPublicKey', 'kms:Sign'],
                Resource: { 'Fn::GetAtt': [signing, 'Arn'] },
              },
            ]
          : [],
      );
      const s3 = statements.flatMap(actionsOf).filter((action) => action.startsWith('s3:'));
      expect(s3.sort(), spec.name).toEqual(
        spec.archivesEvidence
          ? ['s3:GetObject', 's3:ListBucket', 's3:PutObject', 's3:PutObjectRetention']
          : [],
      );
      const fn = functions[functionLogicalId(synth.template, spec.name)]!;
      if (spec.archivesEvidence) {
        // Finalize stages a pack of up to millions of grants in /tmp (586 MB at 1 million).
        expect(fn.Properties).toMatchObject({
          EphemeralStorage: { Size: 4096 },
          MemorySize: 2048,
          Timeout: 900,
        });
      } else {
        expect(fn.Properties?.EphemeralStorage, spec.name).toBeUndefined();
      }
    }
  });

  it('outputs the signing key, the bucket and the reader policy', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: Json }>;
    expect(outputs.SigningKeyArn?.Value).toEqual({
      'Fn::GetAtt': [kmsKeyIds(synth.template).signing, 'Arn'],
    });
    expect(outputs.EvidenceBucketName?.Value).toEqual({ Ref: evidenceBucketId() });
    expect(outputs.EvidenceReaderPolicyArn?.Value).toEqual({ Ref: onlyLogicalId('AWS::IAM::ManagedPolicy') });
  });

  it('gives the evidence reader only read actions, on the table, its key, the signing key and the bucket', () => {
    const policy = resourcesOfType(synth.template, 'AWS::IAM::ManagedPolicy')[
      onlyLogicalId('AWS::IAM::ManagedPolicy')
    ]!;
    const statements = statementsOf([policy.Properties!.PolicyDocument!]);
    const actions = statements.flatMap(actionsOf).sort();
    expect(actions).toEqual(
      [
        'dynamodb:DescribeTable',
        'dynamodb:GetItem',
        'dynamodb:Query',
        'kms:Decrypt',
        'kms:DescribeKey',
        'kms:GetPublicKey',
        's3:GetBucketObjectLockConfiguration',
        's3:GetObject',
        's3:GetObjectRetention',
        's3:GetObjectVersion',
        's3:ListBucket',
        's3:ListBucketVersions',
      ].sort(),
    );
    expect(policy.Properties?.Roles ?? policy.Properties?.Users ?? policy.Properties?.Groups).toBeUndefined();
  });
});

describe('without an aws section', () => {
  it('lets no role in the stack call STS', () => {
    expect(synth.config.aws).toBeUndefined();
    for (const roleId of Object.keys(resourcesOfType(synth.template, 'AWS::IAM::Role'))) {
      const sts = statementsOf(policiesOfRole(synth.template, roleId))
        .flatMap(actionsOf)
        .filter((action) => action.toLowerCase().startsWith('sts:'));
      expect(sts, roleId).toEqual([]);
    }
  });
});

describe('workflow, schedule and Slack endpoint', () => {
  it('logs every state transition without execution data, and traces with X-Ray', () => {
    synth.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }],
      },
      TracingConfiguration: { Enabled: true },
    });
  });

  it('starts a campaign at 09:00 on the first day of each quarter in the configured time zone', () => {
    const stateMachineId = onlyLogicalId('AWS::StepFunctions::StateMachine');
    synth.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 9 1 1,4,7,10 ? *)',
      ScheduleExpressionTimezone: synth.config.schedule.timezone,
      State: 'ENABLED',
      Target: {
        Arn: { Ref: stateMachineId },
        Input: JSON.stringify({ trigger: 'schedule', requestedBy: 'schedule' }),
      },
    });
    expect(synth.config.schedule.timezone).toBe('Europe/Madrid');
  });

  it('exposes slack-events through a Function URL without AWS auth (Bolt checks Slack signatures)', () => {
    synth.template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [functionLogicalId(synth.template, 'slack-events'), 'Arn'] },
    });
    expect(Object.keys(resourcesOfType(synth.template, 'AWS::Lambda::Url'))).toHaveLength(1);
  });

  it('outputs what the operator needs after deploy', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, unknown>;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'EvidenceBucketName',
        'EvidenceReaderPolicyArn',
        'FailureTopicArn',
        'GitHubSecretArn',
        'SigningKeyArn',
        'SlackRequestUrl',
        'SlackSecretArn',
        'StateMachineArn',
        'TableName',
      ].sort(),
    );
  });

  it('creates both secrets under the CMK with generated placeholders only', () => {
    const keyId = kmsKeyIds(synth.template).encryption;
    const secrets = Object.values(resourcesOfType(synth.template, 'AWS::SecretsManager::Secret'));
    expect(secrets).toHaveLength(2);
    for (const secret of secrets) {
      expect(secret.Properties?.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
      expect(secret.Properties?.SecretString).toBeUndefined();
      expect(secret.Properties?.GenerateSecretString).toBeDefined();
    }
  });
});

describe('failure alerts (no notifications section: the topic and the alarm only)', () => {
  const topicId = () => onlyLogicalId('AWS::SNS::Topic');

  it('publishes every failed, timed-out or aborted execution of this state machine to the topic and to notify-failure', () => {
    const stateMachineId = onlyLogicalId('AWS::StepFunctions::StateMachine');
    const rules = Object.values(resourcesOfType(synth.template, 'AWS::Events::Rule'));
    expect(rules).toHaveLength(1);
    const rule = rules[0]!.Properties!;
    expect(rule.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [{ Ref: stateMachineId }] },
    });
    expect(rule.State).toBe('ENABLED');
    const targets = rule.Targets as Array<Record<string, Json>>;
    expect(targets).toHaveLength(2);
    const topicTarget = targets.find(
      (target) => JSON.stringify(target.Arn) === JSON.stringify({ Ref: topicId() }),
    );
    const lambdaTarget = targets.find(
      (target) =>
        JSON.stringify(target.Arn) ===
        JSON.stringify({ 'Fn::GetAtt': [functionLogicalId(synth.template, 'notify-failure'), 'Arn'] }),
    );
    expect(topicTarget, 'topic target').toBeDefined();
    expect(lambdaTarget, 'notify-failure target').toBeDefined();
    // The whole event goes to both (no Input transformation drops the execution ARN).
    expect(topicTarget!.Input).toBeUndefined();
    expect(lambdaTarget!.Input).toBeUndefined();
    expect(lambdaTarget!.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 });
    // EventBridge publishes with a role of its own, which may publish to this topic only.
    const publisherRole = (topicTarget!.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const statements = statementsOf(policiesOfRole(synth.template, publisherRole));
    expect(statements.filter((statement) => actionsOf(statement).includes('sns:Publish'))).toEqual([
      { Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: topicId() } },
    ]);
    expect(statements.flatMap(actionsOf).sort()).toEqual([
      'kms:Decrypt',
      'kms:GenerateDataKey*',
      'sns:Publish',
    ]);
    synth.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [functionLogicalId(synth.template, 'notify-failure'), 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: {
        'Fn::GetAtt': [Object.keys(resourcesOfType(synth.template, 'AWS::Events::Rule'))[0]!, 'Arn'],
      },
    });
    // A notify-failure that throws (every channel failed) is retried by Lambda, twice.
    synth.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionLogicalId(synth.template, 'notify-failure') },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
    });
  });

  it('alarms when failed + timed-out + aborted executions reach 1 in a minute, to the same topic', () => {
    const alarms = Object.values(resourcesOfType(synth.template, 'AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(1);
    const alarm = alarms[0]!.Properties!;
    expect(alarm).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topicId() }],
    });
    const metrics = alarm.Metrics as Array<Record<string, Json>>;
    const expression = metrics.find((metric) => metric.Expression);
    expect(expression?.Expression).toBe('failed + timedOut + aborted');
    expect(expression?.ReturnData).not.toBe(false);
    const stateMachineId = onlyLogicalId('AWS::StepFunctions::StateMachine');
    const inputs = metrics
      .filter((metric) => metric.MetricStat)
      .map((metric) => ({ id: metric.Id, stat: metric.MetricStat, returned: metric.ReturnData }));
    expect(inputs.sort((a, b) => String(a.id).localeCompare(String(b.id)))).toEqual(
      [
        ['aborted', 'ExecutionsAborted'],
        ['failed', 'ExecutionsFailed'],
        ['timedOut', 'ExecutionsTimedOut'],
      ].map(([id, name]) => ({
        id,
        returned: false,
        stat: {
          Metric: {
            Namespace: 'AWS/States',
            MetricName: name,
            Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: stateMachineId } }],
          },
          Period: 60,
          Stat: 'Sum',
        },
      })),
    );
  });

  it('encrypts the topic with the stack CMK, refuses plain HTTP, and lets only this account’s alarms publish', () => {
    const keyId = kmsKeyIds(synth.template).encryption;
    synth.template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
    const policies = Object.values(resourcesOfType(synth.template, 'AWS::SNS::TopicPolicy'));
    expect(policies).toHaveLength(1);
    const statements = statementsOf([policies[0]!.Properties!.PolicyDocument!]);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const allows = statements.filter((statement) => statement.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({
      Action: 'sns:Publish',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Resource: { Ref: topicId() },
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
    // The key lets CloudWatch use it for the alarm's messages, and grants the events service
    // principal nothing: EventBridge uses its role.
    const key = resourcesOfType(synth.template, 'AWS::KMS::Key')[keyId]!;
    const keyStatements = statementsOf([key.Properties!.KeyPolicy!]) as Array<
      ReturnType<typeof statementsOf>[number] & { Principal?: Json }
    >;
    const services = keyStatements.map((statement) => JSON.stringify(statement.Principal));
    expect(services.filter((principal) => principal.includes('events.amazonaws.com'))).toEqual([]);
    expect(
      keyStatements.filter((statement) =>
        JSON.stringify(statement.Principal).includes('cloudwatch.amazonaws.com'),
      ),
    ).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
      },
    ]);
  });

  it('outputs the topic ARN, and grants no SES action without an email configured', () => {
    expect(synth.config.notifications).toBeUndefined();
    expect(
      (synth.template.toJSON().Outputs as Record<string, { Value: Json }>).FailureTopicArn?.Value,
    ).toEqual({
      Ref: topicId(),
    });
    for (const roleId of Object.keys(resourcesOfType(synth.template, 'AWS::IAM::Role'))) {
      const ses = statementsOf(policiesOfRole(synth.template, roleId))
        .flatMap(actionsOf)
        .filter((action) => action.startsWith('ses:'));
      expect(ses, roleId).toEqual([]);
    }
  });
});
