import { runSimulation } from '@cloud-copilot/iam-simulate';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
import type { LambdaStepHandler } from '../../functions/runtime/aws';
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

// The stack with a notifications section: the handlers that send email (the failure notice, the
// campaign summary, review tasks and reminders), and only they, may send, as the configured SES
// identity, with the configured configuration set, From the configured address.

/** Who sends what: notify-failure the failure notice, finalize the summary and "needs attention",
 * request-review and review-checkpoint the review task and reminders for people not in Slack,
 * assign-reviewers the note to people routed around for lack of Slack. */
const EMAIL_SENDERS: readonly HandlerName[] = [
  'assign-reviewers',
  'request-review',
  'review-checkpoint',
  'finalize',
  'notify-failure',
];

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
    expect(HANDLERS.filter((spec) => spec.sendsEmail).map((spec) => spec.name)).toEqual(EMAIL_SENDERS);
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
    expect(senders.sort()).toEqual(EMAIL_SENDERS.map(roleOf).sort());
  });

  it('builds services.email in exactly the handlers the catalogue lets send (the `email` capability)', async () => {
    for (const spec of HANDLERS) {
      const module = (await import(spec.entry)) as { handler: Partial<LambdaStepHandler<unknown, unknown>> };
      // slack-events builds its services itself (no lambdaHandler): it declares no capability list.
      const capabilities = module.handler.capabilities ?? [];
      expect(capabilities.includes('email'), spec.name).toBe(spec.sendsEmail);
    }
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
    for (const sender of EMAIL_SENDERS) {
      expect(await decide(sender, identity('acme.example'), FROM), sender).toBe('Allowed');
      // Not as anyone else, not as another identity, not in another region.
      expect(await decide(sender, identity('acme.example'), 'ceo@acme.example'), sender).toBe(
        'ImplicitlyDenied',
      );
      expect(await decide(sender, identity('other.example'), FROM), sender).toBe('ImplicitlyDenied');
      expect(
        await decide(sender, `arn:aws:ses:eu-west-1:${TEST_ACCOUNT}:identity/acme.example`, FROM),
        sender,
      ).toBe('ImplicitlyDenied');
    }
    for (const other of [
      'slack-events',
      'check-revocations',
      'apply-revocations',
      'mark-unresponsive',
    ] as const) {
      expect(await decide(other, identity('acme.example'), FROM), other).toBe('ImplicitlyDenied');
    }
  });

  it('adds no cdk-nag finding (the topic, rule, roles, alarm and the functions with their SES grant)', () => {
    // The whole stack is test/lib/nag.test.ts's; this configuration adds the SES grant it does not synthesize.
    const report = new AwsSolutionsChecks(synth.app).validateScope(synth.stack);
    const ours = report.violations.flatMap((violation) =>
      violation.violatingResources
        .map((resource) => `${violation.ruleName} ${resource.constructPath}`)
        .filter((finding) =>
          /AccessReview\/(FailureAlerts|Handlers\/(NotifyFailure|Finalize|RequestReview|ReviewCheckpoint)Function)\//.test(
            finding,
          ),
        ),
    );
    expect(ours).toEqual([]);
  });
});
