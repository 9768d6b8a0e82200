import { runSimulation } from '@cloud-copilot/iam-simulate';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { STATE_MACHINE_ARN_VARIABLE } from '../../functions/runtime/step-functions-on-lambda';
import { SlackEndpoint } from '../../lib/aws/slack-endpoint';

/**
 * The Slack endpoint's grant for `/access-review start`, in a stack of its own (no bundling, well
 * under a second): the policy it adds is evaluated by the IAM simulator, not string-matched.
 */
const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';

function synth() {
  const app = new App();
  const stack = new Stack(app, 'EndpointOnly', { env: { account: ACCOUNT, region: REGION } });
  const handler = new LambdaFunction(stack, 'SlackEvents', {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('export const handler = async () => ({ statusCode: 200 });'),
  });
  const machine = new StateMachine(stack, 'Review', {
    stateMachineName: 'Review',
    definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Nothing')),
  });
  new SlackEndpoint(stack, 'Slack', { handler, stateMachine: machine });
  return Template.fromStack(stack).toJSON() as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
}

const MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:Review`;

/** The handler role's inline policy, its state machine reference resolved to MACHINE_ARN. */
function handlerPolicy(template: ReturnType<typeof synth>): unknown {
  const policy = Object.values(template.Resources).find(
    (resource) => resource.Type === 'AWS::IAM::Policy',
  ) as unknown as { Properties: { PolicyDocument: unknown } };
  return JSON.parse(
    JSON.stringify(policy.Properties.PolicyDocument).replace(
      /\{"Ref":"Review[0-9A-F]+"\}/g,
      JSON.stringify(MACHINE_ARN),
    ),
  );
}

async function decide(policy: unknown, action: string, resource: string) {
  const result = await runSimulation(
    {
      identityPolicies: [{ name: 'slack-events', policy: policy as never }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action,
        principal: `arn:aws:iam::${ACCOUNT}:role/slack-events`,
        resource: { accountId: ACCOUNT, resource },
        contextVariables: {},
      },
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`simulation of ${action} failed`);
  return result.overallResult;
}

describe('the Slack endpoint may start the review workflow and nothing else', () => {
  const template = synth();
  const policy = handlerPolicy(template);

  it('allows StartExecution on this state machine only', async () => {
    expect(await decide(policy, 'states:StartExecution', MACHINE_ARN)).toBe('Allowed');
    const other = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:Other`;
    expect(await decide(policy, 'states:StartExecution', other)).toBe('ImplicitlyDenied');
  });

  it('cannot stop, redrive or describe executions, or change the state machine', async () => {
    const execution = `arn:aws:states:${REGION}:${ACCOUNT}:execution:Review:x`;
    expect(await decide(policy, 'states:StopExecution', execution)).toBe('ImplicitlyDenied');
    expect(await decide(policy, 'states:RedriveExecution', execution)).toBe('ImplicitlyDenied');
    expect(await decide(policy, 'states:DescribeExecution', execution)).toBe('ImplicitlyDenied');
    expect(await decide(policy, 'states:UpdateStateMachine', MACHINE_ARN)).toBe('ImplicitlyDenied');
    expect(await decide(policy, 'states:DeleteStateMachine', MACHINE_ARN)).toBe('ImplicitlyDenied');
  });

  it('tells the function which state machine to start', () => {
    const fn = Object.values(template.Resources).find(
      (r) => r.Type === 'AWS::Lambda::Function',
    ) as unknown as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    };
    expect(Object.keys(fn.Properties.Environment.Variables)).toEqual([STATE_MACHINE_ARN_VARIABLE]);
  });
});
