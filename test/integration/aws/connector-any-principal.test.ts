import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsConnector, createAwsConnector } from '../../../functions/connectors/aws';
import type { Grant } from '../../../functions/core/grant';
import type { AwsScenarioInput } from '../../../sandbox/aws/scenario';
import { type AwsSandbox, startAwsSandbox } from '../../../sandbox/aws/server';
import { secretArn } from '../../../sandbox/aws/state';
import {
  CI,
  connectorConfig,
  connectorScenario,
  OUTSIDE,
  PROD,
  REGION,
  role,
  STRIPE,
} from './connector-scenario';

/*
 * Reads through statements that name every principal (`*`) and select some by a condition on who
 * they are, and outsiders named by more than one statement: nothing a principal can read may go
 * unreported, in the snapshot or in a check after a revoke.
 */

const CI_ONLY = secretArn(PROD, REGION, 'prod/shared/ci-only');
const APP_DB = secretArn(PROD, REGION, 'prod/app/db');
const OPEN = secretArn(PROD, REGION, 'prod/shared/open');
const PARTNER_APP = `arn:aws:iam::${OUTSIDE}:role/partner-app`;

function scenario(): AwsScenarioInput {
  const input = structuredClone(connectorScenario());
  const prod = input.accounts.find((account) => account.id === PROD);
  const ci = input.accounts.find((account) => account.id === CI);
  if (!prod || !ci) throw new Error('the connector scenario changed');
  const read = { Action: 'secretsmanager:GetSecretValue', Resource: '*' };
  const stripe = prod.secrets?.find((secret) => secret.name === 'prod/payments/stripe');
  const policy = stripe?.resourcePolicy as { Statement: Array<Record<string, unknown>> } | undefined;
  // The partner's role is named alone in a third statement; its account root stays in the second.
  policy?.Statement.push({ Sid: 'PartnerApp', Effect: 'Allow', Principal: { AWS: PARTNER_APP }, ...read });
  const key = prod.keys?.[0]?.policy as { Statement: Array<Record<string, unknown>> } | undefined;
  key?.Statement.push({
    Sid: 'CiAccountDecrypts',
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${CI}:root` },
    Action: 'kms:Decrypt',
    Resource: '*',
  });
  prod.secrets?.push(
    {
      name: 'prod/shared/ci-only',
      region: REGION,
      kmsKey: 'payments',
      resourcePolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'CiAccount',
            Effect: 'Allow',
            Principal: { AWS: '*' },
            ...read,
            Condition: { StringEquals: { 'aws:PrincipalAccount': CI } },
          },
        ],
      },
    },
    {
      name: 'prod/app/db',
      region: REGION,
      resourcePolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AppOnly',
            Effect: 'Allow',
            Principal: '*',
            ...read,
            Condition: { ArnEquals: { 'aws:PrincipalArn': role(PROD, 'app') } },
          },
        ],
      },
    },
    {
      name: 'prod/shared/open',
      region: REGION,
      kmsKey: 'payments',
      resourcePolicy: {
        Version: '2012-10-17',
        Statement: [{ Sid: 'Open', Effect: 'Allow', Principal: { AWS: '*' }, ...read }],
      },
    },
  );
  const ecs = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ],
  };
  prod.roles?.push({ name: 'app', trustPolicy: ecs });
  ci.roles?.push({
    name: 'builder',
    trustPolicy: ecs,
    inlinePolicies: {
      All: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'kms:Decrypt'], Resource: '*' },
        ],
      },
    },
  });
  return input;
}

let sandbox: AwsSandbox;
let connector: AwsConnector;
const grants: Grant[] = [];

beforeAll(async () => {
  sandbox = await startAwsSandbox(scenario());
  connector = createAwsConnector({
    config: connectorConfig(sandbox.url),
    credentials: sandbox.credentials,
    warn: () => {},
  });
  for await (const grant of connector.snapshot()) grants.push(grant);
});
afterAll(() => sandbox.close());

const on = (secret: string) => grants.filter((grant) => grant.resource === secret);

describe('statements naming every principal, selecting some by a condition', () => {
  it('an account condition (aws:PrincipalAccount = a reviewed account): the aws_anyone grant, with the condition', () => {
    const read = on(CI_ONLY);
    expect(read.map((grant) => [grant.principalType, grant.principal])).toEqual([['aws_anyone', '*']]);
    expect(read[0]?.raw.conditions).toEqual([`aws:PrincipalAccount StringEquals ${CI}`]);
    expect(read[0]?.flags).toEqual(['any_principal', 'cross_account']);
  });

  it('a principal condition (aws:PrincipalArn = one role of the account): the aws_anyone grant, with the condition', () => {
    const read = on(APP_DB);
    expect(read.map((grant) => [grant.principalType, grant.principal])).toEqual([['aws_anyone', '*']]);
    expect(read[0]?.raw.conditions).toEqual([`aws:PrincipalArn ArnEquals ${role(PROD, 'app')}`]);
  });

  it('a reviewed principal of another account that no aws_anyone grant reaches gets a grant of its own', () => {
    // The key lets only the secret's account and the CI account decrypt: the aws_anyone grant
    // reaches the secret's account only, so the CI builder's read is its own grant.
    const read = on(OPEN);
    const anyone = read.find((grant) => grant.principalType === 'aws_anyone');
    expect(anyone?.raw.identitySide).toMatch(new RegExp(`of account ${PROD}`));
    const builder = read.find((grant) => grant.principal === role(CI, 'builder'));
    expect(builder).toMatchObject({ via: { kind: 'resource_policy' }, flags: ['cross_account'] });
    expect(builder?.raw.namedAs).toMatch(/names every principal \("\*"\), not this one/);
    expect(builder?.raw.statements).toContain(
      'Open (statement 1) of the resource policy of prod/shared/open',
    );
  });
});

describe('checking an outsider after a revoke', () => {
  it('is present while another statement names its account', async () => {
    const partner = grants.find((grant) => grant.principal === PARTNER_APP && grant.resource === STRIPE);
    if (!partner) throw new Error('no grant of the partner app');
    const result = await connector.revoke(partner);
    expect(result.outcome).toBe('removed');
    expect(result.action).toContain('dropped PartnerApp (statement 3)');
    expect(await connector.check(partner)).toEqual({
      status: 'present',
      checkedAt: expect.any(String),
      paths: [
        {
          via: 'resource_policy (allowed by CiAndPartner (statement 2) of the resource policy of prod/payments/stripe)',
          permission: 'read',
        },
      ],
    });
  });
});
