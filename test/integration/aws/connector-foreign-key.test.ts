import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsConnector, createAwsConnector } from '../../../functions/connectors/aws';
import type { Grant } from '../../../functions/core/grant';
import type { AwsScenarioInput } from '../../../sandbox/aws/scenario';
import { type AwsSandbox, startAwsSandbox } from '../../../sandbox/aws/server';
import { secretArn } from '../../../sandbox/aws/state';
import { connectorConfig, connectorScenario, OUTSIDE, PROD, REGION, user } from './connector-scenario';

/*
 * Secrets encrypted under a key of an account the review does not configure. KMS answers
 * GetKeyPolicy only in the key's own account, so the connector cannot read that key policy: the
 * snapshot goes on, reporting the reads under the key with their KMS side unknown (taken as
 * allowed), and says so.
 */

const SHARED_KEY = 'eeeeeeee-0000-4000-8000-000000000001';
const PRIVATE_KEY = 'eeeeeeee-0000-4000-8000-000000000002';
const keyArn = (id: string) => `arn:aws:kms:${REGION}:${OUTSIDE}:key/${id}`;
const SHARED = secretArn(PROD, REGION, 'prod/payments/partner-shared');
const PRIVATE = secretArn(PROD, REGION, 'prod/payments/partner-private');

function scenario(): AwsScenarioInput {
  const input = structuredClone(connectorScenario());
  const prod = input.accounts.find((account) => account.id === PROD);
  if (!prod) throw new Error('the connector scenario changed');
  const own = {
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${OUTSIDE}:root` },
    Action: 'kms:*',
    Resource: '*',
  };
  input.accounts.push({
    id: OUTSIDE,
    name: 'partner',
    keys: [
      {
        id: SHARED_KEY,
        region: REGION,
        // The partner lets production describe and use its key; its policy stays the partner's.
        policy: {
          Version: '2012-10-17',
          Statement: [
            own,
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${PROD}:root` },
              Action: ['kms:DescribeKey', 'kms:Decrypt'],
              Resource: '*',
            },
          ],
        },
      },
      // Production may not even describe this one.
      { id: PRIVATE_KEY, region: REGION, policy: { Version: '2012-10-17', Statement: [own] } },
    ],
  });
  prod.secrets?.push(
    { name: 'prod/payments/partner-shared', region: REGION, kmsKey: keyArn(SHARED_KEY) },
    { name: 'prod/payments/partner-private', region: REGION, kmsKey: keyArn(PRIVATE_KEY) },
  );
  return input;
}

let sandbox: AwsSandbox;
let connector: AwsConnector;
const grants: Grant[] = [];
const warnings: string[] = [];

beforeAll(async () => {
  sandbox = await startAwsSandbox(scenario());
  connector = createAwsConnector({
    config: connectorConfig(sandbox.url),
    credentials: sandbox.credentials,
    warn: (message) => warnings.push(message),
  });
  for await (const grant of connector.snapshot()) grants.push(grant);
});
afterAll(() => sandbox.close());

describe('a key in an account the review does not configure', () => {
  it('does not stop the snapshot: reads under it are reported, their KMS side unknown', () => {
    for (const secret of [SHARED, PRIVATE]) {
      const alice = grants.find(
        (grant) => grant.principal === user(PROD, 'alice') && grant.resource === secret,
      );
      expect(alice?.raw).toMatchObject({
        kmsKey: expect.stringContaining(`:${OUTSIDE}:key/`),
        kmsKeyPolicy: 'unreadable',
        kmsSide: expect.stringMatching(/^unknown: the key policy could not be read/),
        kmsStatements: [],
      });
    }
    const shared = grants.find((grant) => grant.resource === SHARED);
    expect(shared?.raw.kmsSide).toContain(
      `the key is in account ${OUTSIDE}, which is not configured, and KMS does not answer GetKeyPolicy across accounts`,
    );
    const hidden = grants.find((grant) => grant.resource === PRIVATE);
    expect(hidden?.raw.kmsSide).toMatch(/kms:DescribeKey: AWS refused kms:DescribeKey/);
  });

  it('warns once per key, and never asks KMS for a key policy across accounts', () => {
    expect(warnings).toEqual([
      expect.stringContaining(`the key policy of ${keyArn(SHARED_KEY)} could not be read`),
      expect.stringContaining(`the key policy of ${keyArn(PRIVATE_KEY)} could not be read`),
    ]);
    expect(
      sandbox.requests.filter((request) => request.action === 'GetKeyPolicy' && request.status !== 200),
    ).toEqual([]);
    expect(sandbox.violations).toEqual([]);
  });

  it('a check reads the secret again the same way: present', async () => {
    const alice = grants.find(
      (grant) => grant.principal === user(PROD, 'alice') && grant.resource === SHARED,
    );
    if (!alice) throw new Error('no grant');
    expect((await connector.check(alice)).status).toBe('present');
  });
});
