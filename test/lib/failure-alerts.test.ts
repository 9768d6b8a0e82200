import { runSimulation } from '@cloud-copilot/iam-simulate';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import { HANDLERS, type HandlerName } from '../../lib/aws/handlers';
import {
  actionsOf,
  concreteArns,
  exampleConfig,
  functionLogicalId,
  type Json,
  policiesOfRole,
  resourcesOfType,
  roleOfFunction,
  type SynthesizedStack,
  statementsOf,
  synthesizeStack,
  TEST_ACCOUNT,
} from './support';

// The stack with a notifications section: notify-failure (and only it) may send email, as the
// configured SES identity, with the configured configuration set, From the configured address.

const FROM = 'access-review@mail.acme.example';
let synth: SynthesizedStack;

beforeAll(() => {
  synth = synthesizeStack(
    parseConfig({
      ...(JSON.parse(JSON.stringify(exampleConfig())) as Record<string, unknown>),
      notifications: {
        slackChannel: 'C0SECURITY',
        email: {
          from: FROM,
          to: ['security@acme.example'],
          identity: 'acme.example',
          configurationSet: 'access-review',
          region: 'us-east-1',
        },
      },
    }),
  );
  // A synth takes 3–8 s on an idle machine; the allowance is for a loaded one.
}, 180_000);
afterAll(() => synth?.dispose());

const sesArn = (resource: string) => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, `:ses:us-east-1:`, { Ref: 'AWS::AccountId' }, `:${resource}`],
  ],
});

function roleOf(handler: HandlerName): string {
  return roleOfFunction(synth.template, functionLogicalId(synth.template, handler));
}

describe('failure alerts with notifications configured', () => {
  it('grants ses:SendEmail to the handlers the catalogue says send email, on the identity and configuration set only', () => {
    expect(HANDLERS.filter((spec) => spec.sendsEmail).map((spec) => spec.name)).toEqual(['notify-failure']);
    for (const spec of HANDLERS) {
      const ses = statementsOf(policiesOfRole(synth.template, roleOf(spec.name))).filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('ses:')),
      );
      if (spec.sendsEmail) expect([ses[0]?.Resource].flat(), spec.name).toHaveLength(2);
      expect(ses, spec.name).toEqual(
        spec.sendsEmail
          ? [
              {
                Effect: 'Allow',
                Action: 'ses:SendEmail',
                Resource: expect.arrayContaining([
                  sesArn('identity/acme.example'),
                  sesArn('configuration-set/access-review'),
                ]),
                Condition: { StringEquals: { 'ses:FromAddress': FROM } },
              },
            ]
          : [],
      );
    }
    // Nothing else in the stack (state machine, scheduler, EventBridge's role) may send email.
    const senders = Object.keys(resourcesOfType(synth.template, 'AWS::IAM::Role')).filter((roleId) =>
      statementsOf(policiesOfRole(synth.template, roleId)).some((statement) =>
        actionsOf(statement).some((action) => action.startsWith('ses:')),
      ),
    );
    expect(senders).toEqual([roleOf('notify-failure')]);
  });

  it('lets IAM allow exactly that send (evaluated by the policy simulator)', async () => {
    const resolve = concreteArns(synth.template);
    const decide = async (handler: HandlerName, resource: string, from: string) => {
      const roleId = roleOf(handler);
      const result = await runSimulation(
        {
          identityPolicies: policiesOfRole(synth.template, roleId).map((policy, index) => ({
            name: `${roleId}-${index}`,
            policy: resolve(policy as Json),
          })),
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          request: {
            action: 'ses:SendEmail',
            principal: `arn:aws:iam::${TEST_ACCOUNT}:role/${roleId}`,
            resource: { accountId: TEST_ACCOUNT, resource },
            contextVariables: { 'ses:FromAddress': from },
          },
        },
        {},
      );
      if (result.resultType === 'error') throw new Error(result.errors.message);
      return result.overallResult;
    };
    const identity = (name: string) => `arn:aws:ses:us-east-1:${TEST_ACCOUNT}:identity/${name}`;
    expect(await decide('notify-failure', identity('acme.example'), FROM)).toBe('Allowed');
    expect(await decide('notify-failure', identity('acme.example'), 'ceo@acme.example')).toBe(
      'ImplicitlyDenied',
    );
    expect(await decide('notify-failure', identity('other.example'), FROM)).toBe('ImplicitlyDenied');
    expect(
      await decide('notify-failure', `arn:aws:ses:eu-west-1:${TEST_ACCOUNT}:identity/acme.example`, FROM),
    ).toBe('ImplicitlyDenied');
    expect(await decide('finalize', identity('acme.example'), FROM)).toBe('ImplicitlyDenied');
    expect(await decide('slack-events', identity('acme.example'), FROM)).toBe('ImplicitlyDenied');
  });

  it('adds no cdk-nag finding (the topic, rule, roles, alarm and the notify function with its SES grant)', () => {
    // The whole stack is test/lib/nag.test.ts's; this configuration adds the SES grant it does not synthesize.
    const report = new AwsSolutionsChecks(synth.app).validateScope(synth.stack);
    const ours = report.violations.flatMap((violation) =>
      violation.violatingResources
        .map((resource) => `${violation.ruleName} ${resource.constructPath}`)
        .filter((finding) => /AccessReview\/(FailureAlerts|Handlers\/NotifyFailureFunction)\//.test(finding)),
    );
    expect(ours).toEqual([]);
  });
});
