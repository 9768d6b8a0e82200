/**
 * The AWS half of `npm run bench`: how the snapshot of one account grows with its principals and
 * secrets, read from the local AWS sandbox by the real connector. Reported as ratios against a
 * baseline measured in the same process (the smallest account's snapshot), plus the exact counts
 * that do not depend on the machine: requests by service, principal × secret pairs, the pairs the
 * prefilter let through to the policy evaluator, and simulations run.
 */
import { performance } from 'node:perf_hooks';
import { createAwsConnector } from '../functions/connectors/aws/index';
import { parseConfig } from '../functions/core/config';
import type { Grant } from '../functions/core/grant';
import type { AwsScenarioInput } from '../sandbox/aws/scenario';
import { startAwsSandbox } from '../sandbox/aws/server';

const HUB = '000000000000';
const MEMBER = '111122223333';
const REGION = 'eu-west-1';
const document = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });

/**
 * At scale k: 20k users in k teams (each team's group reads its team's secrets), 5k service roles
 * reading two secrets each, 10k secrets (every tenth with a resource policy naming a role), and
 * half the users with policies that never touch Secrets Manager, which the prefilter skips.
 */
function account(scale: number): AwsScenarioInput {
  const pad = (n: number) => String(n).padStart(4, '0');
  const teams = Array.from({ length: scale }, (_, t) => `team-${pad(t)}`);
  const secrets = Array.from({ length: 10 * scale }, (_, i) => ({
    name: `prod/${teams[i % scale]}/secret-${pad(i)}`,
    region: REGION,
    ...(i % 10 === 0
      ? {
          resourcePolicy: document({
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${MEMBER}:role/service-${pad(i % (5 * scale))}` },
            Action: 'secretsmanager:GetSecretValue',
            Resource: '*',
          }),
        }
      : {}),
  }));
  const secretArnPattern = (team: string) =>
    `arn:aws:secretsmanager:${REGION}:${MEMBER}:secret:prod/${team}/*`;
  const readRole = {
    name: 'access-review-read',
    trustPolicy: document({
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${HUB}:role/functions` },
      Action: 'sts:AssumeRole',
    }),
    inlinePolicies: {
      read: document({
        Effect: 'Allow',
        Action: [
          'iam:GetAccountAuthorizationDetails',
          'secretsmanager:ListSecrets',
          'secretsmanager:GetResourcePolicy',
          'kms:DescribeKey',
          'kms:GetKeyPolicy',
        ],
        Resource: '*',
      }),
    },
  };
  return {
    hubAccountId: HUB,
    hubPrincipal: `arn:aws:iam::${HUB}:role/functions`,
    accounts: [
      {
        id: HUB,
        roles: [
          {
            name: 'functions',
            trustPolicy: document({
              Effect: 'Allow',
              Principal: { Service: 'lambda.amazonaws.com' },
              Action: 'sts:AssumeRole',
            }),
            inlinePolicies: {
              assume: document({
                Effect: 'Allow',
                Action: 'sts:AssumeRole',
                Resource: `arn:aws:iam::${MEMBER}:role/*`,
              }),
            },
          },
        ],
      },
      {
        id: MEMBER,
        policies: teams.map((team) => ({
          name: `read-${team}`,
          document: document({
            Effect: 'Allow',
            Action: 'secretsmanager:GetSecretValue',
            Resource: secretArnPattern(team),
          }),
        })),
        groups: teams.map((team) => ({ name: team, managedPolicies: [`read-${team}`] })),
        users: Array.from({ length: 20 * scale }, (_, i) => ({
          name: `user-${pad(i)}`,
          ...(i % 2 === 0
            ? { groups: [teams[i % scale]!] }
            : {
                inlinePolicies: {
                  logs: document({ Effect: 'Allow', Action: 'logs:GetLogEvents', Resource: '*' }),
                },
              }),
        })),
        roles: [
          readRole,
          ...Array.from({ length: 5 * scale }, (_, i) => ({
            name: `service-${pad(i)}`,
            trustPolicy: document({
              Effect: 'Allow',
              Principal: { Service: 'ecs-tasks.amazonaws.com' },
              Action: 'sts:AssumeRole',
            }),
            inlinePolicies: {
              secrets: document({
                Effect: 'Allow',
                Action: 'secretsmanager:GetSecretValue',
                Resource: [0, 1].map(
                  (k) =>
                    `arn:aws:secretsmanager:${REGION}:${MEMBER}:secret:${secrets[(i * 2 + k) % secrets.length]!.name}-*`,
                ),
              }),
            },
          })),
        ],
        secrets,
      },
    ],
  };
}

export async function awsBenchmark(): Promise<string[][]> {
  const rows: string[][] = [];
  let baselineMs = 0;
  // The first pass warms up the evaluator's IAM data and the JIT; the second (scale 1) is the baseline.
  for (const [pass, scale] of [1, 1, 4, 16].entries()) {
    const sandbox = await startAwsSandbox(account(scale));
    const config = parseConfig({
      github: { organization: 'benchco' },
      routing: { fallbackReviewers: ['user-0000'] },
      people: [{ github: 'user-0000', email: 'owner@benchco.example' }],
      aws: {
        endpoint: sandbox.url,
        accounts: [
          {
            accountId: MEMBER,
            regions: [REGION],
            readRoleArn: `arn:aws:iam::${MEMBER}:role/access-review-read`,
          },
        ],
      },
    }).aws;
    if (!config) throw new Error('the benchmark configuration has no aws section');
    const connector = createAwsConnector({
      config,
      credentials: sandbox.credentials,
      stsRegion: 'us-east-1',
    });
    const grants: Grant[] = [];
    const start = performance.now();
    for await (const grant of connector.snapshot()) grants.push(grant);
    const ms = performance.now() - start;
    if (pass === 1) baselineMs = ms;
    if (pass > 0) {
      const stats = connector.evaluationStats();
      rows.push([
        `${25 * scale + 1} × ${10 * scale}`,
        String(grants.length),
        `${(ms / baselineMs).toFixed(2)}×`,
        Object.entries(connector.usage().requests)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([service, count]) => `${service} ${count}`)
          .join(', '),
        String(stats.pairs),
        String(stats.simulatedPairs),
        String(stats.simulations),
        `${(stats.simulationMs / ms).toFixed(2)}`,
      ]);
    }
    await sandbox.close();
  }
  return [
    [
      'principals × secrets',
      'grants',
      'snapshot vs smallest',
      'AWS requests by service',
      'pairs',
      'pairs simulated',
      'simulations',
      'share of time simulating',
    ],
    ...rows,
  ];
}
