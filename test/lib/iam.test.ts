import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDLERS, type HandlerName, type SecretName } from '../../lib/aws/handlers';
import {
  concreteArns,
  functionLogicalId,
  type Json,
  policiesOfRole,
  resourcesOfType,
  roleOfFunction,
  type SynthesizedStack,
  synthesizeStack,
  TEST_ACCOUNT,
  TEST_REGION,
} from './support';

// The synthesized policies, evaluated by an IAM policy simulator (same- and cross-account
// semantics matched AWS in the cases recorded in shared/NOTES.md) instead of by string matching.

let synth: SynthesizedStack;
let resolve: (value: Json) => Json;
let keyPolicy: Json;
let arns: { table: string; stateMachine: string; key: string; secrets: Record<SecretName, string> };

beforeAll(() => {
  synth = synthesizeStack();
  resolve = concreteArns(synth.template);
  const only = (type: string) => Object.keys(resourcesOfType(synth.template, type))[0]!;
  const secretIds = Object.keys(resourcesOfType(synth.template, 'AWS::SecretsManager::Secret'));
  const key = resourcesOfType(synth.template, 'AWS::KMS::Key')[only('AWS::KMS::Key')]!;
  keyPolicy = resolve(key.Properties!.KeyPolicy!);
  arns = {
    table: resolve({ 'Fn::GetAtt': [only('AWS::DynamoDB::Table'), 'Arn'] }) as string,
    stateMachine: resolve({ Ref: only('AWS::StepFunctions::StateMachine') }) as string,
    key: resolve({ 'Fn::GetAtt': [only('AWS::KMS::Key'), 'Arn'] }) as string,
    secrets: {
      github: resolve({ Ref: secretIds.find((id) => id.includes('GitHub'))! }) as string,
      slack: resolve({ Ref: secretIds.find((id) => id.includes('Slack'))! }) as string,
    },
  };
  // A synth takes 3–8 s on an idle machine; the allowance is for a loaded one.
}, 180_000);
afterAll(() => synth?.dispose());

interface DecideOptions {
  contextVariables?: Record<string, string>;
  /** KMS never lets IAM alone grant use of a key: its key policy must delegate to the account. */
  resourcePolicy?: Json;
}

function simulation(
  handler: HandlerName,
  action: string,
  resource: string,
  options: DecideOptions,
): Simulation {
  const roleId = roleOfFunction(synth.template, functionLogicalId(synth.template, handler));
  return {
    identityPolicies: policiesOfRole(synth.template, roleId).map((policy, index) => ({
      name: `${roleId}-${index}`,
      policy: resolve(policy),
    })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(options.resourcePolicy ? { resourcePolicy: options.resourcePolicy } : {}),
    request: {
      action,
      principal: `arn:aws:iam::${TEST_ACCOUNT}:role/${roleId}`,
      resource: { accountId: TEST_ACCOUNT, resource },
      contextVariables: options.contextVariables ?? {},
    },
  };
}

async function decide(handler: HandlerName, action: string, resource: string, options: DecideOptions = {}) {
  const result = await runSimulation(simulation(handler, action, resource, options), {});
  if (result.resultType === 'error')
    throw new Error(`simulation of ${action} failed: ${result.errors.message}`);
  return result.overallResult;
}

/**
 * The Service Authorization Reference (the simulator's data) lists no resource type for
 * states:SendTask*, so the validating simulator refuses any ARN. Step Functions does authorize
 * them against the state machine that issued the token (CDK's grantTaskResponse relies on it,
 * aws/aws-cdk#8486 records the test), so these are evaluated without that validation.
 */
function decideTaskResponse(handler: HandlerName, action: string, resource: string) {
  return runUnsafeSimulation(simulation(handler, action, resource, {}), {});
}

const DYNAMODB_ACTIONS = [
  'GetItem',
  'PutItem',
  'UpdateItem',
  'Query',
  'BatchWriteItem',
  'DeleteItem',
  'Scan',
  'BatchGetItem',
  'ConditionCheckItem',
  'DeleteTable',
  'UpdateTable',
];

describe('IAM behaviour of the synthesized roles', () => {
  it('lets each function call exactly its DynamoDB actions on the table and its indexes', async () => {
    for (const spec of HANDLERS) {
      for (const action of DYNAMODB_ACTIONS) {
        const granted = (spec.tableActions as readonly string[]).includes(action);
        const expected = granted ? 'Allowed' : 'ImplicitlyDenied';
        expect(await decide(spec.name, `dynamodb:${action}`, arns.table), `${spec.name} ${action}`).toBe(
          expected,
        );
        if (action === 'Query') {
          expect(await decide(spec.name, 'dynamodb:Query', `${arns.table}/index/gsi1`), spec.name).toBe(
            expected,
          );
        }
      }
    }
  });

  it('the snapshot role may BatchWriteItem but may not DeleteItem', async () => {
    expect(await decide('snapshot', 'dynamodb:BatchWriteItem', arns.table)).toBe('Allowed');
    expect(await decide('snapshot', 'dynamodb:DeleteItem', arns.table)).toBe('ImplicitlyDenied');
  });

  it('reaches no other table', async () => {
    const other = `arn:aws:dynamodb:${TEST_REGION}:${TEST_ACCOUNT}:table/SomethingElse`;
    expect(await decide('snapshot', 'dynamodb:GetItem', other)).toBe('ImplicitlyDenied');
  });

  it('reads only the vendor secrets its catalogue entry lists', async () => {
    for (const spec of HANDLERS) {
      for (const secret of ['github', 'slack'] as const) {
        const expected = spec.secrets.includes(secret) ? 'Allowed' : 'ImplicitlyDenied';
        expect(
          await decide(spec.name, 'secretsmanager:GetSecretValue', arns.secrets[secret]),
          `${spec.name} ${secret}`,
        ).toBe(expected);
      }
    }
    expect(await decide('request-review', 'secretsmanager:GetSecretValue', arns.secrets.github)).toBe(
      'ImplicitlyDenied',
    );
    expect(await decide('slack-events', 'secretsmanager:PutSecretValue', arns.secrets.slack)).toBe(
      'ImplicitlyDenied',
    );
  });

  it('uses the CMK only through DynamoDB or Secrets Manager, never directly', async () => {
    const resourcePolicy = keyPolicy;
    const via = (service: string) => ({
      resourcePolicy,
      contextVariables: { 'kms:ViaService': `${service}.${TEST_REGION}.amazonaws.com` },
    });
    expect(await decide('finalize', 'kms:Decrypt', arns.key, via('dynamodb'))).toBe('Allowed');
    expect(await decide('finalize', 'kms:GenerateDataKey', arns.key, via('dynamodb'))).toBe('Allowed');
    expect(await decide('finalize', 'kms:Decrypt', arns.key, { resourcePolicy })).toBe('ImplicitlyDenied');
    expect(await decide('finalize', 'kms:Decrypt', arns.key, via('secretsmanager'))).toBe('ImplicitlyDenied');
    expect(await decide('snapshot', 'kms:Decrypt', arns.key, via('secretsmanager'))).toBe('Allowed');
    expect(await decide('snapshot', 'kms:Encrypt', arns.key, via('secretsmanager'))).toBe('ImplicitlyDenied');
    expect(await decide('snapshot', 'kms:ScheduleKeyDeletion', arns.key, via('dynamodb'))).toBe(
      'ImplicitlyDenied',
    );
  });

  it('only slack-events completes review tasks, and only on this state machine', async () => {
    expect(decideTaskResponse('slack-events', 'states:SendTaskSuccess', arns.stateMachine)).toBe('Allowed');
    expect(decideTaskResponse('slack-events', 'states:SendTaskFailure', arns.stateMachine)).toBe(
      'ImplicitlyDenied',
    );
    expect(decideTaskResponse('slack-events', 'states:SendTaskHeartbeat', arns.stateMachine)).toBe(
      'ImplicitlyDenied',
    );
    const other = `arn:aws:states:${TEST_REGION}:${TEST_ACCOUNT}:stateMachine:Other`;
    expect(decideTaskResponse('slack-events', 'states:SendTaskSuccess', other)).toBe('ImplicitlyDenied');
    expect(await decide('slack-events', 'states:StartExecution', arns.stateMachine)).toBe('ImplicitlyDenied');
    for (const spec of HANDLERS.filter((candidate) => candidate.name !== 'slack-events')) {
      expect(decideTaskResponse(spec.name, 'states:SendTaskSuccess', arns.stateMachine), spec.name).toBe(
        'ImplicitlyDenied',
      );
      expect(decideTaskResponse(spec.name, 'states:SendTaskSuccess', '*'), spec.name).toBe(
        'ImplicitlyDenied',
      );
    }
  });
});
