import { inspect } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lambdaConfigEnvironment } from '../../support/lambda-config';

/**
 * On Lambda, the configuration file in the function's code and the Slack / GitHub secrets from
 * Secrets Manager are records from outside: a prototype key in them (`__proto__` anywhere, or
 * `constructor` holding `prototype`) is a ConfigError naming the path, never the value. Secrets
 * Manager is mocked (aws-sdk-client-mock); functions/runtime/aws.ts caches per container, so each
 * test imports a fresh copy of it (and of the capability modules bound to it).
 */

const secrets = mockClient(SecretsManagerClient);
const saved = { ...process.env };

const SLACK_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:SlackCredentials-AbCdEf';
const GITHUB_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:GitHubCredentials-AbCdEf';
/** Values that must never reach an error: they stand for tokens and keys. */
const SECRET_VALUES = [
  'xoxb-SECRET-bot-token',
  'SECRET-signing-secret',
  'ghp_SECRET_token',
  'https://evil.example/',
];

const CONFIG = {
  github: { organization: 'acme' },
  routing: { fallbackReviewers: ['alice'] },
  people: [{ github: 'alice', email: 'alice@acme.example' }],
};

async function freshRuntime() {
  vi.resetModules();
  const runtime = await import('../../../functions/runtime/aws');
  const { gitHubOnLambda } = await import('../../../functions/runtime/github-on-lambda');
  const { slackOnLambda } = await import('../../../functions/runtime/slack-on-lambda');
  return { ...runtime, capabilities: { github: gitHubOnLambda, slack: slackOnLambda } };
}

/** The error a call threw (sync or async); fails the test when it did not throw. */
async function thrown(call: () => unknown): Promise<Error & { problems?: string[] }> {
  try {
    await call();
  } catch (error) {
    return error as Error & { problems?: string[] };
  }
  throw new Error('expected the call to throw');
}

/** Nothing of a secret value anywhere in the error, its cause chain included. */
function expectNoValues(error: unknown) {
  const everything = `${inspect(error, { depth: 20 })} ${JSON.stringify(error)} ${String(error)}`;
  for (const value of SECRET_VALUES) expect(everything).not.toContain(value);
  expect(everything).not.toContain('polluted');
}

function secretString(arn: string, text: string) {
  secrets.on(GetSecretValueCommand, { SecretId: arn }).resolves({
    ARN: arn,
    Name: arn.split(':').at(-1),
    SecretString: text,
    VersionId: 'b9f2c7e1-0000-4000-8000-000000000000',
    VersionStages: ['AWSCURRENT'],
  });
}

beforeEach(() => {
  secrets.reset();
  Object.assign(process.env, {
    TABLE_NAME: 'access-review-test',
    ...lambdaConfigEnvironment(CONFIG, { text: JSON.stringify(CONFIG) }),
    SLACK_SECRET_ARN: SLACK_ARN,
    GITHUB_SECRET_ARN: GITHUB_ARN,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
});

afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

afterAll(() => {
  secrets.restore();
});

describe('the configuration file', () => {
  const cases: Array<[string, string, string[]]> = [
    [
      '__proto__ inside a section',
      '{"github": {"organization": "acme", "__proto__": {"apiUrl": "https://evil.example/"}}, "people": []}',
      ['github.__proto__ is not an accepted key'],
    ],
    [
      'constructor.prototype at the top and __proto__ in a list',
      '{"github": {"organization": "acme"}, "constructor": {"prototype": {"polluted": true}}, "people": [{"github": "alice", "email": "alice@acme.example", "__proto__": {"polluted": 1}}]}',
      ['constructor.prototype is not an accepted key', 'people[0].__proto__ is not an accepted key'],
    ],
  ];

  it.each(cases)('refuses %s, naming the path', async (_what, text, problems) => {
    Object.assign(process.env, lambdaConfigEnvironment(undefined, { text }));
    const runtime = await freshRuntime();
    const error = await thrown(() => runtime.configFromFile());
    expect(error).toMatchObject({ name: 'ConfigError', problems });
    expect(error.message).toBe(
      `the configuration file ${runtime.configFilePath()} is refused:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    expect(error.cause).toMatchObject({ name: 'UnsafeRecordError' });
    expectNoValues(error);
    // A Lambda built from this environment refuses before the step runs.
    const step = vi.fn(async () => 'ran');
    const refused = await thrown(() => runtime.lambdaHandler(step)({}));
    expect(refused).toMatchObject({ name: 'ConfigError', problems });
    expect(step).not.toHaveBeenCalled();
    expect(secrets.calls()).toHaveLength(0);
  });

  it('accepts the same configuration without the key', async () => {
    const runtime = await freshRuntime();
    expect(runtime.configFromFile()).toEqual(CONFIG);
  });

  it('refuses a file whose SHA-256 is not the deployed one, naming both hashes', async () => {
    const env = lambdaConfigEnvironment(CONFIG, { sha256: 'a'.repeat(64) });
    Object.assign(process.env, env);
    const runtime = await freshRuntime();
    const error = await thrown(() => runtime.lambdaHandler(vi.fn())({}));
    expect(error).toMatchObject({ name: 'ConfigError' });
    expect(error.problems).toEqual([
      expect.stringMatching(/^ACCESS_REVIEW_CONFIG_SHA256 is a{64}, the file's SHA-256 is [0-9a-f]{64}$/),
    ]);
  });

  it('refuses a missing file and a missing hash variable, each named', async () => {
    process.env.LAMBDA_TASK_ROOT = '/nonexistent-task-root';
    let runtime = await freshRuntime();
    expect((await thrown(() => runtime.configFromFile())).message).toContain(
      '/nonexistent-task-root/access-review.config.json',
    );
    Object.assign(process.env, lambdaConfigEnvironment(CONFIG));
    delete process.env.ACCESS_REVIEW_CONFIG_SHA256;
    runtime = await freshRuntime();
    expect((await thrown(() => runtime.configFromFile())).problems).toEqual([
      'ACCESS_REVIEW_CONFIG_SHA256 is not set',
    ]);
  });
});

describe('the Slack secret', () => {
  const cases: Array<[string, string, string[]]> = [
    [
      '__proto__ at the top',
      '{"botToken": "xoxb-SECRET-bot-token", "signingSecret": "SECRET-signing-secret", "__proto__": {"botToken": "xoxb-SECRET-bot-token"}}',
      ['__proto__ is not an accepted key'],
    ],
    [
      'constructor.prototype nested',
      '{"botToken": "xoxb-SECRET-bot-token", "signingSecret": "SECRET-signing-secret", "extra": {"constructor": {"prototype": {"polluted": true}}}}',
      ['extra.constructor.prototype is not an accepted key'],
    ],
  ];

  it.each(cases)('refuses %s, naming the path, never a value', async (_what, text, problems) => {
    secretString(SLACK_ARN, text);
    const runtime = await freshRuntime();
    const error = await thrown(() => runtime.slackCredentialsFromSecret());
    expect(error).toMatchObject({ name: 'ConfigError', problems });
    expect(error.message).toBe(
      `secret ${SLACK_ARN} is refused:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    expect(error.cause).toMatchObject({ name: 'UnsafeRecordError' });
    expectNoValues(error);
    // The Slack client the services hand out fails the same way.
    const slack = await thrown(() => runtime.servicesFromEnvironment(runtime.capabilities).slack());
    expect(slack).toMatchObject({ name: 'ConfigError', problems });
    expect(secrets.commandCalls(GetSecretValueCommand, { SecretId: SLACK_ARN }).length).toBeGreaterThan(0);
  });

  it('a refusal is not cached: the corrected secret is read on the next use', async () => {
    secretString(SLACK_ARN, cases[0]![1]);
    const runtime = await freshRuntime();
    await thrown(() => runtime.slackCredentialsFromSecret());
    secretString(
      SLACK_ARN,
      '{"botToken": "xoxb-SECRET-bot-token", "signingSecret": "SECRET-signing-secret"}',
    );
    expect(await runtime.slackCredentialsFromSecret()).toEqual({
      botToken: 'xoxb-SECRET-bot-token',
      signingSecret: 'SECRET-signing-secret',
    });
  });
});

describe('the GitHub secret', () => {
  const cases: Array<[string, string, string[]]> = [
    [
      '__proto__ beside a token',
      '{"token": "ghp_SECRET_token", "__proto__": {"token": "ghp_SECRET_token"}}',
      ['__proto__ is not an accepted key'],
    ],
    [
      'constructor.prototype beside an app key',
      '{"appId": 1, "installationId": 2, "privateKey": "-----BEGIN PRIVATE KEY-----ghp_SECRET_token", "constructor": {"prototype": {"polluted": true}}}',
      ['constructor.prototype is not an accepted key'],
    ],
  ];

  it.each(cases)('refuses %s, naming the path, never a value', async (_what, text, problems) => {
    secretString(GITHUB_ARN, text);
    const runtime = await freshRuntime();
    const error = await thrown(() =>
      runtime.servicesFromEnvironment(runtime.capabilities).connectors.get('github'),
    );
    expect(error).toMatchObject({ name: 'ConfigError', problems });
    expect(error.message).toBe(
      `secret ${GITHUB_ARN} is refused:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    expect(error.cause).toMatchObject({ name: 'UnsafeRecordError' });
    expectNoValues(error);
    expect(secrets.commandCalls(GetSecretValueCommand, { SecretId: GITHUB_ARN })).toHaveLength(1);
  });

  it('accepts the same token secret without the key', async () => {
    secretString(GITHUB_ARN, '{"token": "ghp_SECRET_token"}');
    const runtime = await freshRuntime();
    const connector = await runtime.servicesFromEnvironment(runtime.capabilities).connectors.get('github');
    expect(connector).toBeDefined();
  });
});
