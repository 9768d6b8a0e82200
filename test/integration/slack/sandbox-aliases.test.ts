import { LogLevel, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../functions/core/errors';
import { parseScenario } from '../../../sandbox/scenario';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';

/**
 * Email aliases in the Slack sandbox: a user's `aliases` are further addresses of the same
 * account. users.lookupByEmail finds the user by any of them, in any case, and answers the user as
 * Slack does (the profile shows the primary address). An address belongs to one user only, in the
 * sandbox's options and in a scenario's `slack.users`.
 */

const TOKEN = 'xoxb-alias-test';
const BOB = 'U0BOB0001';

let sandbox: SlackSandbox;
let client: WebClient;

beforeAll(async () => {
  sandbox = await startSlackSandbox({
    users: [
      { id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' },
      {
        id: BOB,
        name: 'bob',
        email: 'bob@acme.example',
        aliases: ['bob.admin@acme.example', 'Robert@Old.Example'],
      },
    ],
    botToken: TOKEN,
  });
  client = new WebClient(TOKEN, {
    slackApiUrl: sandbox.apiUrl,
    retryConfig: { retries: 0 },
    logLevel: LogLevel.ERROR,
  });
});

afterAll(async () => {
  await sandbox?.close();
});

async function lookupError(email: string): Promise<string> {
  try {
    await client.users.lookupByEmail({ email });
  } catch (error) {
    return (error as { data?: { error?: string } }).data?.error ?? String(error);
  }
  throw new Error(`expected ${email} to be unknown`);
}

describe('users.lookupByEmail with aliases', () => {
  it.each([
    'bob@acme.example',
    'bob.admin@acme.example',
    'BOB.ADMIN@ACME.EXAMPLE',
    'robert@old.example',
    'Robert@Old.Example',
  ])('%s answers bob, whose profile shows his primary address', async (email) => {
    const answer = await client.users.lookupByEmail({ email });
    expect(answer).toMatchObject({
      ok: true,
      user: { id: BOB, name: 'bob', profile: { email: 'bob@acme.example' } },
    });
  });

  it('an address that is no one’s alias is users_not_found', async () => {
    expect(await lookupError('admin@acme.example')).toBe('users_not_found');
    expect(await lookupError('bob.admin@acme.example.org')).toBe('users_not_found');
  });

  it('users.info shows the primary address only', async () => {
    const { user } = await client.users.info({ user: BOB });
    expect(user?.profile?.email).toBe('bob@acme.example');
  });
});

describe('an address belongs to one user', () => {
  it.each([
    [
      'an alias that is another user’s email',
      [
        { id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' },
        { id: BOB, name: 'bob', email: 'bob@acme.example', aliases: ['Alice@acme.example'] },
      ],
      `Slack email Alice@acme.example of ${BOB} is already U0ALICE01's`,
    ],
    [
      'two users with one email',
      [
        { id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' },
        { id: BOB, name: 'bob', email: 'ALICE@acme.example' },
      ],
      `Slack email ALICE@acme.example of ${BOB} is already U0ALICE01's`,
    ],
  ])('the sandbox refuses to start on %s', async (_what, users, message) => {
    await expect(startSlackSandbox({ users, botToken: TOKEN })).rejects.toThrow(message);
  });
});

describe('slack.users[].aliases in a scenario', () => {
  const base = {
    organization: {
      login: 'acme',
      members: [
        { login: 'alice', email: 'alice@acme.example' },
        { login: 'bob', email: 'bob@acme.example' },
        { login: 'bob-admin', email: 'bob.admin@acme.example' },
      ],
    },
    config: { github: { organization: 'acme' }, routing: { fallbackReviewers: ['alice'] } },
  };
  const alice = { id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' };

  function problemsOf(users: unknown[]): string[] {
    try {
      parseScenario({ ...base, slack: { users } });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('expected the scenario to be refused');
  }

  it('accepts aliases, and a person whose email is an alias has a Slack user', () => {
    const { scenario, config } = parseScenario({
      ...base,
      slack: {
        users: [
          alice,
          { id: BOB, name: 'bob', email: 'bob@acme.example', aliases: ['Bob.Admin@acme.example'] },
        ],
      },
    });
    expect(scenario.slack.users[1]?.aliases).toEqual(['Bob.Admin@acme.example']);
    expect(config.people.map((p) => p.github)).toEqual(['alice', 'bob', 'bob-admin']);
  });

  it('without the alias, bob-admin has no Slack user', () => {
    expect(problemsOf([alice, { id: BOB, name: 'bob', email: 'bob@acme.example' }])).toEqual([
      'config.people[2].email: no Slack user has bob.admin@acme.example (and review tasks are not emailed)',
    ]);
  });

  it('refuses an alias that is not an email', () => {
    expect(
      problemsOf([
        alice,
        { id: BOB, name: 'bob', email: 'bob@acme.example', aliases: ['bob.admin@acme.example', 'bob-admin'] },
      ]),
    ).toEqual(['slack.users[1].aliases[1]: Invalid email address']);
  });

  it('refuses an address used twice, across users and within one, case-insensitively', () => {
    expect(
      problemsOf([
        { ...alice, aliases: ['Bob.Admin@acme.example'] },
        {
          id: BOB,
          name: 'bob',
          email: 'ALICE@acme.example',
          aliases: ['bob.admin@acme.example', 'bob@acme.example', 'BOB@acme.example'],
        },
      ]),
    ).toEqual([
      'slack.users[1].email: "ALICE@acme.example" is already an address of slack.users[0]',
      'slack.users[1].aliases[0]: "bob.admin@acme.example" is already an address of slack.users[0]',
      'slack.users[1].aliases[2]: "BOB@acme.example" is listed twice for this user',
    ]);
  });
});
