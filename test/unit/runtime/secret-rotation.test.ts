import { inspect } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lambdaConfigEnvironment } from '../../support/lambda-config';

/**
 * Secrets on Lambda are read through Powertools Parameters with a TTL (SECRET_MAX_AGE_SECONDS): a
 * rotated secret reaches a warm container after the TTL and not before, and the GitHub connector
 * and the Slack client are rebuilt exactly when the secret's content changed. Secrets Manager is
 * mocked with aws-sdk-client-mock (GetSecretValue answers shaped as in the API reference); time is
 * moved with fake Date only (Powertools keeps expiry as a timestamp).
 */

const secrets = mockClient(SecretsManagerClient);
const saved = { ...process.env };

const SLACK_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:SlackCredentials-AbCdEf';
const GITHUB_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:GitHubCredentials-AbCdEf';
const CONFIG = {
  github: { organization: 'acme' },
  routing: { fallbackReviewers: ['alice'] },
  people: [{ github: 'alice', email: 'alice@acme.example' }],
};
const START = new Date('2026-12-01T09:00:00Z');

async function freshRuntime() {
  vi.resetModules();
  const runtime = await import('../../../functions/runtime/aws');
  const { gitHubOnLambda } = await import('../../../functions/runtime/github-on-lambda');
  const { slackOnLambda } = await import('../../../functions/runtime/slack-on-lambda');
  const services = runtime.servicesFromEnvironment({ github: gitHubOnLambda, slack: slackOnLambda });
  return { runtime, services };
}

function answer(arn: string, text: string) {
  secrets.on(GetSecretValueCommand, { SecretId: arn }).resolves({
    ARN: arn,
    Name: arn.split(':').at(-1),
    SecretString: text,
    VersionId: 'b9f2c7e1-0000-4000-8000-000000000000',
    VersionStages: ['AWSCURRENT'],
  });
}

const reads = (arn: string) => secrets.commandCalls(GetSecretValueCommand, { SecretId: arn }).length;
const later = (seconds: number) => vi.setSystemTime(new Date(START.getTime() + seconds * 1000));

async function thrown(call: () => unknown): Promise<Error & { problems?: string[] }> {
  try {
    await call();
  } catch (error) {
    return error as Error & { problems?: string[] };
  }
  throw new Error('expected the call to throw');
}

beforeEach(() => {
  secrets.reset();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(START);
  Object.assign(process.env, {
    TABLE_NAME: 'access-review-test',
    ...lambdaConfigEnvironment(CONFIG),
    SLACK_SECRET_ARN: SLACK_ARN,
    GITHUB_SECRET_ARN: GITHUB_ARN,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
});

afterEach(() => {
  vi.useRealTimers();
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

afterAll(() => secrets.restore());

describe('secret TTL', () => {
  it('a rotated Slack secret is used after the TTL, not before, and the client is rebuilt then', async () => {
    answer(SLACK_ARN, '{"botToken": "xoxb-old", "signingSecret": "old-signing"}');
    const { runtime, services } = await freshRuntime();
    const first = await services.slack();
    expect(await runtime.slackCredentialsFromSecret()).toMatchObject({ botToken: 'xoxb-old' });

    answer(SLACK_ARN, '{"botToken": "xoxb-new", "signingSecret": "new-signing"}');
    later(runtime.SECRET_MAX_AGE_SECONDS - 1);
    expect(await runtime.slackCredentialsFromSecret()).toEqual({
      botToken: 'xoxb-old',
      signingSecret: 'old-signing',
    });
    expect(await services.slack()).toBe(first);
    expect(reads(SLACK_ARN)).toBe(1);

    later(runtime.SECRET_MAX_AGE_SECONDS + 1);
    expect(await runtime.slackCredentialsFromSecret()).toEqual({
      botToken: 'xoxb-new',
      signingSecret: 'new-signing',
    });
    const rotated = await services.slack();
    expect(rotated).not.toBe(first);
    expect(rotated.token).toBe('xoxb-new');
    expect(reads(SLACK_ARN)).toBe(2);
  });

  it('the GitHub connector is rebuilt when the secret changes (token → App key), kept when it does not', async () => {
    answer(GITHUB_ARN, '{"token": "ghp_first"}');
    const { runtime, services } = await freshRuntime();
    const first = await services.connectors.get('github');
    expect(await services.connectors.get('github')).toBe(first);

    // Re-read after the TTL with the same content: the same connector (its caches and counters stay).
    later(runtime.SECRET_MAX_AGE_SECONDS + 1);
    expect(await services.connectors.get('github')).toBe(first);
    expect(reads(GITHUB_ARN)).toBe(2);

    // Rotated to an App installation: still the old connector until the TTL lets the secret be re-read.
    answer(
      GITHUB_ARN,
      JSON.stringify({
        appId: 12345,
        installationId: 678,
        privateKey: '-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----',
      }),
    );
    later(runtime.SECRET_MAX_AGE_SECONDS + 2);
    expect(await services.connectors.get('github')).toBe(first);
    later(2 * runtime.SECRET_MAX_AGE_SECONDS + 2);
    const rotated = await services.connectors.get('github');
    expect(rotated).not.toBe(first);
    expect(rotated.name).toBe('github');
    expect(reads(GITHUB_ARN)).toBe(3);
  });
});

describe('bad secrets: fields named, values never', () => {
  const VALUES = ['ghp_SECRET_value', 'xoxb-SECRET-bot', 'SECRET-APP-ID', 'SECRET-KEY-BODY'];
  const expectNoValues = (error: unknown) => {
    const everything = `${inspect(error, { depth: 20 })} ${JSON.stringify(error)} ${String(error)}`;
    for (const value of VALUES) expect(everything).not.toContain(value);
  };

  it('an incomplete GitHub App secret names each bad field', async () => {
    answer(
      GITHUB_ARN,
      JSON.stringify({ appId: 'SECRET-APP-ID', installationId: 42, privateKey: 'SECRET-KEY-BODY' }),
    );
    const { services } = await freshRuntime();
    const error = await thrown(() => services.connectors.get('github'));
    expect(error).toMatchObject({ name: 'ConfigError' });
    expect(error.problems).toEqual([
      'appId must be the GitHub App id (digits)',
      'privateKey must be the app private key in PEM form',
    ]);
    expectNoValues(error);
  });

  it('a Slack secret without its signing secret names the field', async () => {
    answer(SLACK_ARN, '{"botToken": "xoxb-SECRET-bot", "signingSecret": ""}');
    const { services } = await freshRuntime();
    const error = await thrown(() => services.slack());
    expect(error.problems).toEqual(['signingSecret is missing or empty']);
    expectNoValues(error);
  });

  it('a secret that is not JSON is refused without quoting it', async () => {
    answer(GITHUB_ARN, 'ghp_SECRET_value');
    const { services } = await freshRuntime();
    const error = await thrown(() => services.connectors.get('github'));
    expect(error).toMatchObject({ name: 'ConfigError', problems: ['SecretString must be a JSON object'] });
    expectNoValues(error);
  });

  it('a refused secret is read again at once, not after the TTL', async () => {
    answer(GITHUB_ARN, '{"token": ""}');
    const { services } = await freshRuntime();
    await thrown(() => services.connectors.get('github'));
    answer(GITHUB_ARN, '{"token": "ghp_fixed"}');
    expect((await services.connectors.get('github')).name).toBe('github');
    expect(reads(GITHUB_ARN)).toBe(2);
  });

  it("Secrets Manager's own error reaches the workflow under its own name", async () => {
    const denied = Object.assign(
      new Error('User is not authorized to perform secretsmanager:GetSecretValue'),
      {
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      },
    );
    secrets.on(GetSecretValueCommand).rejects(denied);
    const { services } = await freshRuntime();
    expect(await thrown(() => services.slack())).toMatchObject({ name: 'AccessDeniedException' });
  });
});
