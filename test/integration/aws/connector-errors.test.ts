import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AwsAccessDeniedError,
  AwsUnavailableError,
  createAwsConnector,
} from '../../../functions/connectors/aws';
import { ConnectorError, TransientError } from '../../../functions/core/errors';
import type { Grant } from '../../../functions/core/grant';
import { storedPolicy } from '../../../sandbox/aws/documents';
import { type AwsSandbox, startAwsSandbox } from '../../../sandbox/aws/server';
import { CI, connectorConfig, connectorScenario, PROD, READ_ROLE } from './connector-scenario';

/*
 * Failures as an operator meets them: a member role missing a permission (the error names the
 * action and the role), a role the hub may not assume, and throttling that the SDK retries within
 * the configured budget before it becomes a TransientError the workflow retries later.
 */

let sandbox: AwsSandbox;
beforeEach(async () => {
  sandbox = await startAwsSandbox(connectorScenario());
});
afterEach(() => sandbox.close());

const fast = { baseDelayMs: 1, maxDelayMs: 5 };

async function snapshot(config = connectorConfig(sandbox.url), maxAttempts = 4) {
  const connector = createAwsConnector({
    config,
    credentials: sandbox.credentials,
    tuning: { ...fast, maxAttempts },
  });
  const grants: Grant[] = [];
  for await (const grant of connector.snapshot()) grants.push(grant);
  return { connector, grants };
}

async function failure(run: Promise<unknown>): Promise<Error> {
  try {
    await run;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('AccessDenied', () => {
  /** The read role without one of its actions. */
  function withoutAction(action: string) {
    const readRole = sandbox.state.account(PROD).roles.get('access-review-read');
    if (!readRole) throw new Error('no read role');
    const current = readRole.inlinePolicies.get('Read')?.document as {
      Statement: Array<{ Action: string[] }>;
    };
    const actions = current.Statement[0]?.Action.filter((item) => item !== action) ?? [];
    readRole.inlinePolicies.set(
      'Read',
      storedPolicy({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }],
      }),
    );
  }

  it('names the action the read role lacks, and the role', async () => {
    // The read role loses secretsmanager:GetResourcePolicy: the snapshot stops rather than guess
    // who the resource policies let read.
    withoutAction('secretsmanager:GetResourcePolicy');
    const error = await failure(snapshot());
    expect(error).toBeInstanceOf(AwsAccessDeniedError);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ action: 'secretsmanager:GetResourcePolicy', roleArn: READ_ROLE });
    expect(error.message).toMatch(
      /^AWS refused secretsmanager:GetResourcePolicy on arn:aws:secretsmanager:eu-west-1:111122223333:secret:\S+ as arn:aws:iam::111122223333:role\/access-review\/access-review-read \(AccessDeniedException/,
    );
    expect(error.message).toContain(`Grant ${READ_ROLE} secretsmanager:GetResourcePolicy`);
    expect((error as { cause?: { name?: string } }).cause?.name).toBe('AccessDeniedException');
  });

  it('a key policy the read role may not read does not stop the snapshot: reads under it are reported with their KMS side unknown', async () => {
    withoutAction('kms:GetKeyPolicy');
    const warnings: string[] = [];
    const connector = createAwsConnector({
      config: connectorConfig(sandbox.url),
      credentials: sandbox.credentials,
      tuning: { ...fast, maxAttempts: 4 },
      warn: (message) => warnings.push(message),
    });
    const grants: Grant[] = [];
    for await (const grant of connector.snapshot()) grants.push(grant);
    const prod = grants.filter(
      (grant) => grant.grantKind === 'secret_read' && grant.resource.includes(`:${PROD}:`),
    );
    expect(prod.length).toBeGreaterThan(0);
    for (const grant of prod) {
      expect(grant.raw).toMatchObject({
        kmsKeyPolicy: 'unreadable',
        kmsSide: expect.stringMatching(
          /^unknown: the key policy could not be read \(kms:GetKeyPolicy: .*AccessDeniedException/,
        ),
      });
    }
    // Production's three keys (payments, aws/secretsmanager in two regions), each once.
    expect(warnings.filter((message) => message.includes(`:${PROD}:key/`))).toHaveLength(3);
    expect(warnings[0]).toMatch(/could not be read .*: reads of secrets under it are reported without it/);
    // Bob, whom only stripe's key policy kept from it, is now reported reading it (over, not under).
    expect(
      grants.some(
        (grant) => grant.principal.endsWith(':user/contractors/bob') && grant.resource.includes('stripe'),
      ),
    ).toBe(true);
  });

  it('a role the hub may not assume (wrong ExternalId) names sts:AssumeRole and the role', async () => {
    const config = connectorConfig(sandbox.url);
    const wrong = {
      ...config,
      accounts: config.accounts.map((account) => ({ ...account, externalId: 'not-the-one' })),
    };
    const error = await failure(snapshot(wrong));
    expect(error).toBeInstanceOf(AwsAccessDeniedError);
    expect(error.message).toMatch(
      /^AWS refused sts:AssumeRole on arn:aws:iam::111122223333:role\/access-review\/access-review-read/,
    );
  });
});

describe('throttling', () => {
  it('is retried by the SDK within the budget, and every attempt is counted', async () => {
    sandbox.failNext({
      status: 400,
      code: 'ThrottlingException',
      times: 2,
      match: { service: 'secretsmanager', action: 'ListSecrets' },
    });
    sandbox.failNext({
      status: 400,
      code: 'Throttling',
      times: 1,
      match: { service: 'iam', action: 'GetAccountAuthorizationDetails' },
    });
    const { connector, grants } = await snapshot();
    expect(grants.length).toBeGreaterThan(0);
    const injected = sandbox.requests.filter((request) => request.injected);
    expect(injected.map((request) => request.action)).toEqual([
      'GetAccountAuthorizationDetails',
      'ListSecrets',
      'ListSecrets',
    ]);
    // The counter sees every attempt, as the sandbox does.
    expect(connector.usage().requests).toEqual({ sts: 2, iam: 3, secretsmanager: 10, kms: 8 });
  });

  it('that outlasts the retries is a TransientError naming the call', async () => {
    sandbox.failNext({
      status: 400,
      code: 'ThrottlingException',
      times: 10,
      match: { service: 'secretsmanager', action: 'ListSecrets' },
    });
    const error = await failure(snapshot(connectorConfig(sandbox.url), 3));
    expect(error).toBeInstanceOf(AwsUnavailableError);
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(
      /^AWS secretsmanager:ListSecrets on account 111122223333 eu-west-1 as \S+ failed after 3 attempt\(s\) \(ThrottlingException/,
    );
    expect(sandbox.requests.filter((request) => request.injected)).toHaveLength(3);
  });

  it('a 5xx is retried too; a client error is not', async () => {
    sandbox.failNext({ status: 500, code: 'InternalFailure', times: 1, match: { service: 'kms' } });
    await snapshot();
    sandbox.failNext({
      status: 400,
      code: 'InvalidParameterException',
      times: 5,
      match: { service: 'secretsmanager', action: 'ListSecrets' },
    });
    const before = sandbox.requests.length;
    const error = await failure(snapshot());
    expect(error).not.toBeInstanceOf(TransientError);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(sandbox.requests.slice(before).filter((request) => request.injected)).toHaveLength(1);
  });
});

describe('a check of a deleted thing', () => {
  it('is absent when the secret or the principal is gone', async () => {
    const { connector, grants } = await snapshot();
    const ci = grants.find((grant) => grant.principal === `arn:aws:iam::${CI}:role/ci`);
    const alice = grants.find((grant) => grant.principal === `arn:aws:iam::${PROD}:user/alice`);
    if (!ci || !alice) throw new Error('missing grants');
    sandbox.state.account(CI).roles.delete('ci');
    expect((await connector.check(ci)).status).toBe('absent');
    sandbox.state.account(PROD).secrets.delete(alice.resource);
    expect((await connector.check(alice)).status).toBe('absent');
  });
});
