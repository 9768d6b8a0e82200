import { runSimulation } from '@cloud-copilot/iam-simulate';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDLERS, type HandlerName } from '../../lib/aws/handlers';
import { memberRolesFromConfig } from '../../lib/aws/member-account-stack';
import {
  actionsOf,
  awsConfig,
  concreteArns,
  functionLogicalId,
  type Json,
  PRODUCTION_ACCOUNT,
  PRODUCTION_EXTERNAL_ID,
  policiesOfRole,
  resourcesOfType,
  roleOfFunction,
  STAGING_ACCOUNT,
  type SynthesizedMemberStack,
  type SynthesizedStack,
  statementsOf,
  synthesizeMemberStack,
  synthesizeStack,
  TEST_ACCOUNT,
} from './support';

// The hub stack built from a config with two member accounts, and the member roles those accounts
// deploy from the same config: the hub's grants, and both halves of the cross-account trust.

const HUB = TEST_ACCOUNT;
const READ = {
  production: `arn:aws:iam::${PRODUCTION_ACCOUNT}:role/access-review-read`,
  staging: `arn:aws:iam::${STAGING_ACCOUNT}:role/security/access-review-read`,
};
const REVOKE = `arn:aws:iam::${PRODUCTION_ACCOUNT}:role/access-review-revoke`;

let hub: SynthesizedStack;
let production: SynthesizedMemberStack;
let staging: SynthesizedMemberStack;

beforeAll(() => {
  const config = awsConfig();
  hub = synthesizeStack(config);
  production = synthesizeMemberStack(
    memberRolesFromConfig(config, PRODUCTION_ACCOUNT, HUB),
    PRODUCTION_ACCOUNT,
  );
  staging = synthesizeMemberStack(memberRolesFromConfig(config, STAGING_ACCOUNT, HUB), STAGING_ACCOUNT);
});
afterAll(() => {
  hub?.dispose();
  production?.dispose();
  staging?.dispose();
});

function hubRole(handler: HandlerName): { id: string; path: string | undefined } {
  const id = roleOfFunction(hub.template, functionLogicalId(hub.template, handler));
  const path = resourcesOfType(hub.template, 'AWS::IAM::Role')[id]?.Properties?.Path;
  return { id, path: typeof path === 'string' ? path : undefined };
}

describe('hub stack with AWS accounts configured', () => {
  it('grants sts:AssumeRole on exactly the read roles to snapshot and verify, the revoke role to apply', () => {
    const expected: Record<HandlerName, string[]> = {
      'start-campaign': [],
      snapshot: [READ.production, READ.staging],
      'assign-reviewers': [],
      'request-review': [],
      'await-review': [],
      'review-checkpoint': [],
      'mark-unresponsive': [],
      // The guard names the read and revoke roles from configuration; it assumes none of them.
      'check-revocations': [],
      'request-revocation-approval': [],
      'reject-held-revocations': [],
      'apply-revocations': [REVOKE],
      'verify-revocations': [READ.production, READ.staging],
      finalize: [],
      'slack-events': [],
      'notify-failure': [],
    };
    for (const spec of HANDLERS) {
      const statements = statementsOf(policiesOfRole(hub.template, hubRole(spec.name).id))
        .filter((statement) => actionsOf(statement).some((action) => action.startsWith('sts:')))
        .map((statement) => ({ ...statement, Resource: [statement.Resource].flat() }));
      expect(statements, spec.name).toEqual(
        expected[spec.name].length === 0
          ? []
          : [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: expected[spec.name] }],
      );
    }
    // Nothing else in the stack may assume anything (the state machine and scheduler roles included).
    const assumers = Object.keys(resourcesOfType(hub.template, 'AWS::IAM::Role')).filter((id) =>
      statementsOf(policiesOfRole(hub.template, id)).some((statement) =>
        actionsOf(statement).some((action) => action.startsWith('sts:')),
      ),
    );
    expect(assumers.sort()).toEqual(
      [hubRole('snapshot').id, hubRole('apply-revocations').id, hubRole('verify-revocations').id].sort(),
    );
  });

  it('puts the roles that assume member roles under the path of their kind, and no other role there', () => {
    for (const spec of HANDLERS) {
      const expected = { read: '/access-review/read/', revoke: '/access-review/revoke/', none: undefined }[
        spec.awsRoles
      ];
      expect(hubRole(spec.name).path, spec.name).toBe(expected);
    }
    const underAccessReview = Object.values(resourcesOfType(hub.template, 'AWS::IAM::Role')).filter((role) =>
      String(role.Properties?.Path ?? '/').startsWith('/access-review/'),
    );
    expect(underAccessReview).toHaveLength(3);
  });

  it('is cdk-nag clean', () => {
    const report = new AwsSolutionsChecks(hub.app).validateScope(hub.stack);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });
});

interface Caller {
  /** The caller's role ARN as aws:PrincipalArn reports it (path included). */
  arn: string;
  identityPolicies: Json[];
}

/** A hub function's role, with its synthesized identity policies. */
function hubCaller(handler: HandlerName): Caller {
  const { id, path } = hubRole(handler);
  const resolve = concreteArns(hub.template);
  return {
    arn: `arn:aws:iam::${HUB}:role${path ?? '/'}${id}`,
    identityPolicies: policiesOfRole(hub.template, id).map(resolve),
  };
}

/** Some other role that may call sts:AssumeRole on anything. */
function otherCaller(arn: string): Caller {
  return {
    arn,
    identityPolicies: [
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] },
    ],
  };
}

async function assume(caller: Caller, member: SynthesizedMemberStack, roleArn: string, externalId?: string) {
  const [, , , , memberAccount] = roleArn.split(':') as [string, string, string, string, string];
  const roleName = roleArn.split('/').at(-1)!;
  const roles = resourcesOfType(member.template, 'AWS::IAM::Role');
  const role = Object.values(roles).find((candidate) => candidate.Properties?.RoleName === roleName);
  if (!role) throw new Error(`${roleArn} is not in the member template`);
  const result = await runSimulation(
    {
      identityPolicies: caller.identityPolicies.map((policy, index) => ({ name: `caller-${index}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: concreteArns(member.template)(role.Properties!.AssumeRolePolicyDocument!),
      request: {
        action: 'sts:AssumeRole',
        principal: caller.arn,
        resource: { accountId: memberAccount, resource: roleArn },
        contextVariables: {
          'aws:PrincipalArn': caller.arn,
          ...(externalId ? { 'sts:ExternalId': externalId } : {}),
        },
      },
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`simulation failed: ${result.errors.message}`);
  return result.overallResult;
}

describe('cross-account trust between the hub and the member roles', () => {
  it('lets snapshot and verify assume the read roles, with the ExternalId where one is configured', async () => {
    for (const handler of ['snapshot', 'verify-revocations'] as const) {
      const caller = hubCaller(handler);
      expect(await assume(caller, production, READ.production, PRODUCTION_EXTERNAL_ID), handler).toBe(
        'Allowed',
      );
      expect(await assume(caller, production, READ.production), `${handler} without ExternalId`).toBe(
        'ImplicitlyDenied',
      );
      expect(
        await assume(caller, production, READ.production, 'guessed'),
        `${handler} wrong ExternalId`,
      ).toBe('ImplicitlyDenied');
      expect(await assume(caller, staging, READ.staging), `${handler} staging`).toBe('Allowed');
      expect(await assume(caller, production, REVOKE, PRODUCTION_EXTERNAL_ID), `${handler} revoke`).toBe(
        'ImplicitlyDenied',
      );
    }
  });

  it('lets apply-revocations assume the revoke role and not the read role', async () => {
    const apply = hubCaller('apply-revocations');
    expect(await assume(apply, production, REVOKE, PRODUCTION_EXTERNAL_ID)).toBe('Allowed');
    expect(await assume(apply, production, READ.production, PRODUCTION_EXTERNAL_ID)).toBe('ImplicitlyDenied');
    expect(await assume(apply, staging, READ.staging)).toBe('ImplicitlyDenied');
  });

  it('refuses every other principal, however broad its own permissions', async () => {
    const refused: Array<[string, Caller]> = [
      ['finalize (no grant, no path)', hubCaller('finalize')],
      ['a hub admin role outside the path', otherCaller(`arn:aws:iam::${HUB}:role/Admin`)],
      ['a hub role under another path', otherCaller(`arn:aws:iam::${HUB}:role/access-review-read/x`)],
      [
        'the read path in another account',
        otherCaller(`arn:aws:iam::${STAGING_ACCOUNT}:role/access-review/read/x`),
      ],
    ];
    for (const [what, caller] of refused) {
      expect(await assume(caller, staging, READ.staging), what).toBe('ImplicitlyDenied');
      expect(await assume(caller, production, READ.production, PRODUCTION_EXTERNAL_ID), what).toBe(
        'ImplicitlyDenied',
      );
    }
    // The same broad caller under the hub's read path is admitted: the trust is the path, by design.
    expect(
      await assume(otherCaller(`arn:aws:iam::${HUB}:role/access-review/read/x`), staging, READ.staging),
    ).toBe('Allowed');
  });
});
