import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AwsConnector, createAwsConnector } from '../../../functions/connectors/aws';
import type { Grant } from '../../../functions/core/grant';
import { type AwsSandbox, startAwsSandbox } from '../../../sandbox/aws/server';
import {
  connectorConfig,
  connectorScenario,
  DATABASE,
  MANAGED_PATH,
  PROD,
  PROVIDER,
  role,
  STRIPE,
  user,
} from './connector-scenario';

/*
 * A revoke removes exactly the reviewed read (or trust) and nothing else, end to end against the
 * local AWS sandbox: a rotation statement naming a user (finding 1 of the second review), a trust
 * statement that also admits the account (finding 2), and a user's two inline policies of which
 * only one is revoked (finding 3). plan() returns the documents revoke then writes.
 */

const ROTATOR = user(PROD, 'rotator');
const FRANK = user(PROD, 'frank', MANAGED_PATH);
const ROTATION = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:DescribeSecret',
];

let sandbox: AwsSandbox;
let connector: AwsConnector;
let grants: Grant[];

beforeEach(async () => {
  const scenario = connectorScenario();
  const prod = scenario.accounts.find((account) => account.id === PROD);
  const stripe = prod?.secrets?.find((secret) => secret.name === 'prod/payments/stripe');
  if (!prod || !stripe?.resourcePolicy) throw new Error('the connector scenario changed');
  const statements = stripe.resourcePolicy.Statement as unknown[];
  statements.push({
    Sid: 'Rotator',
    Effect: 'Allow',
    Principal: { AWS: ROTATOR },
    Action: ROTATION,
    Resource: '*',
  });
  prod.users = [
    ...(prod.users ?? []),
    {
      name: 'rotator',
      inlinePolicies: {
        K: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }] },
      },
    },
    {
      name: 'frank',
      path: MANAGED_PATH,
      inlinePolicies: {
        Ops: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'Ops',
              Effect: 'Allow',
              Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
              Resource: STRIPE,
            },
            { Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' },
          ],
        },
        Keep: {
          Version: '2012-10-17',
          Statement: [
            { Sid: 'Keep', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: STRIPE },
          ],
        },
      },
    },
  ];
  prod.roles = [
    ...(prod.roles ?? []),
    {
      name: 'mixed',
      trustPolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'Both',
            Effect: 'Allow',
            Principal: {
              Federated: `arn:aws:iam::${PROD}:oidc-provider/${PROVIDER}`,
              AWS: `arn:aws:iam::${PROD}:root`,
            },
            Action: ['sts:AssumeRoleWithWebIdentity', 'sts:AssumeRole'],
          },
        ],
      },
      inlinePolicies: {
        R: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: DATABASE }],
        },
      },
    },
  ];
  sandbox = await startAwsSandbox(scenario);
  connector = createAwsConnector({ config: connectorConfig(sandbox.url), credentials: sandbox.credentials });
  grants = [];
  for await (const grant of connector.snapshot()) grants.push(grant);
});
afterEach(() => sandbox.close());

function find(predicate: (grant: Grant) => boolean, what: string): Grant {
  const found = grants.find(predicate);
  if (!found) throw new Error(`no grant: ${what}`);
  return found;
}

/** Plans, revokes, and checks that the plan was exactly what revoke wrote. */
async function revoke(grant: Grant) {
  const planned = await connector.plan(grant);
  const result = await connector.revoke(grant);
  expect(result.outcome).toBe('removed');
  expect(result.policyChanges).toEqual(planned);
  return result;
}

describe('a revoke cuts only the reviewed access', () => {
  it("resource policy: rotator loses the read and keeps PutSecretValue and DescribeSecret; the others' statements stay", async () => {
    const rotator = find((g) => g.principal === ROTATOR && g.resource === STRIPE, 'rotator on stripe');
    const before = JSON.parse(sandbox.state.secret(STRIPE)?.resourcePolicy?.text ?? '{}').Statement;
    await revoke(rotator);
    const after = JSON.parse(sandbox.state.secret(STRIPE)?.resourcePolicy?.text ?? '{}').Statement;
    expect(after).toEqual([
      ...before.slice(0, -1),
      { ...before.at(-1), Action: ['secretsmanager:PutSecretValue', 'secretsmanager:DescribeSecret'] },
    ]);
    expect((await connector.check(rotator)).status).toBe('absent');
  });

  it('trust: the last GitHub subject goes with the GitHub provider; the account keeps sts:AssumeRole', async () => {
    const trust = find(
      (g) => g.grantKind === 'oidc_role_trust' && g.resource === role(PROD, 'mixed'),
      'trust of role mixed',
    );
    expect(trust.principal).toBe('*');
    const result = await revoke(trust);
    expect(result.action).toContain('removed the GitHub provider from the Principal of Both (statement 1)');
    expect(
      JSON.parse(sandbox.state.account(PROD).roles.get('mixed')?.trustPolicy.text ?? '{}').Statement,
    ).toEqual([
      {
        Sid: 'Both',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${PROD}:root` },
        Action: ['sts:AssumeRoleWithWebIdentity', 'sts:AssumeRole'],
      },
    ]);
    expect((await connector.check(trust)).status).toBe('absent');
  });

  it("identity policy: revoking frank's read through Ops keeps his read through Keep, and Ops keeps DescribeSecret", async () => {
    const ops = find(
      (g) =>
        g.principal === FRANK &&
        g.resource === STRIPE &&
        g.via.kind === 'identity_policy' &&
        g.via.policy.endsWith('#Ops'),
      'frank#Ops',
    );
    const keep = find(
      (g) =>
        g.principal === FRANK &&
        g.resource === STRIPE &&
        g.via.kind === 'identity_policy' &&
        g.via.policy.endsWith('#Keep'),
      'frank#Keep',
    );
    const result = await revoke(ops);
    expect(result.action).not.toContain('Deny');
    expect(
      JSON.parse(sandbox.state.account(PROD).users.get('frank')?.inlinePolicies.get('Ops')?.text ?? '{}')
        .Statement[0],
    ).toEqual({
      Sid: 'Ops',
      Effect: 'Allow',
      Action: ['secretsmanager:DescribeSecret'],
      Resource: STRIPE,
    });
    expect(await connector.check(keep)).toMatchObject({
      status: 'present',
      paths: [{ via: `identity_policy:${FRANK}#Keep`, permission: 'read' }],
    });
  });
});
