import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  endOfWindowPolicy,
  JUSTIFIED_GRANT_CLASSES,
  parseConfig,
  reviewReminderHours,
  sesIdentity,
} from '../../functions/core/config';
import { ConfigError } from '../../functions/core/errors';

const valid = {
  github: { organization: 'acme' },
  routing: {
    fallbackReviewers: ['alice'],
    owners: [{ resource: 'acme/api', resourceType: 'repository', reviewer: 'bob' }],
  },
  people: [
    { github: 'alice', email: 'alice@acme.example' },
    { github: 'bob', email: 'bob@acme.example' },
  ],
};

/** The problems a ConfigError names for this input (none: it parsed). */
function issuesOf(input: unknown): string[] {
  try {
    parseConfig(input);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('configuration', () => {
  it('fills defaults for a minimal valid file', () => {
    const config = parseConfig(valid);
    expect(config.review.windowHours).toBe(336);
    expect(config.schedule.timezone).toBe('UTC');
    expect(config.github.apiUrl).toBe('https://api.github.com');
  });

  it('names every bad field at once', () => {
    const bad = {
      github: { organization: 'not a login!' },
      routing: { fallbackReviewers: [], owners: [{ resource: 'acme', resourceType: 'repo', reviewer: 'x' }] },
      people: [{ github: 'alice', email: 'nope' }],
      schedule: { timezone: 'Mars/Olympus' },
      surprise: true,
    };
    let error: unknown;
    try {
      parseConfig(bad);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const field of [
      'github.organization',
      'routing.fallbackReviewers',
      'routing.owners[0].resourceType',
      'people[0].email',
      'schedule.timezone',
      'surprise',
    ]) {
      expect(problems).toContain(field);
    }
  });

  it('rejects owners and fallbacks that cannot be reached in Slack', () => {
    expect(() =>
      parseConfig({
        ...valid,
        routing: {
          fallbackReviewers: ['zed'],
          owners: [{ resource: 'acme/api', resourceType: 'repository', reviewer: 'yan' }],
        },
      }),
    ).toThrowError(
      /routing\.owners\[0\]\.reviewer: "yan" is not listed in people[\s\S]*routing\.fallbackReviewers\[0\]: "zed"/,
    );
  });

  it('refuses one person listed twice, by login or by email whatever the case, naming both entries', () => {
    let error: unknown;
    try {
      parseConfig({
        ...valid,
        people: [
          ...valid.people,
          { github: 'Alice', email: 'alice.second@acme.example' },
          { github: 'bob-admin', email: 'BOB@acme.example' },
        ],
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'people[2].github: "Alice" is already people[0]',
      'people[3].email: BOB@acme.example is also people[1].email (bob): bob-admin and bob would reach the same Slack user, so list one person once',
    ]);
  });
});

describe('the aws section', () => {
  const account = (overrides: Record<string, unknown> = {}) => ({
    accountId: '111122223333',
    regions: ['eu-west-1'],
    readRoleArn: 'arn:aws:iam::111122223333:role/access-review-read',
    ...overrides,
  });

  it('is optional, and fills its defaults when given', () => {
    expect(parseConfig(valid).aws).toBeUndefined();
    const config = parseConfig({ ...valid, aws: { accounts: [account()] } });
    expect(config.aws?.githubOidcProvider).toBe('token.actions.githubusercontent.com');
    expect(config.aws?.automaticRemediation.identityPolicyPaths).toEqual([]);
  });

  it('names every account that does not hold together: unknown owners, roles elsewhere, duplicates', () => {
    let error: unknown;
    try {
      parseConfig({
        ...valid,
        aws: {
          accounts: [
            account({ revokeRoleArn: 'arn:aws:iam::999988887777:role/access-review-revoke' }),
            account(),
          ],
        },
        routing: {
          ...valid.routing,
          owners: [
            { resource: '444455556666', resourceType: 'aws_account', reviewer: 'bob' },
            { resource: 'prod/', resourceType: 'aws_secret_prefix', reviewer: 'bob' },
          ],
        },
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'routing.owners[0].resource: account 444455556666 is not listed in aws.accounts',
      'routing.owners[1].resource: "prod/" is not an account id and a secret name prefix (111122223333:prod/)',
      'aws.accounts[0].revokeRoleArn: "arn:aws:iam::999988887777:role/access-review-revoke" is not in account 111122223333',
      'aws.accounts[1].accountId: 111122223333 is listed twice',
    ]);
  });

  it('sends credentials only over https, or plain http to this machine', () => {
    const urls = (url: string) => ({
      ...valid,
      github: { organization: 'acme', apiUrl: url },
      slack: { apiUrl: url },
      aws: { endpoint: url, accounts: [account()] },
    });
    for (const bad of [
      'http://evil.example:8080/',
      'javascript:alert(1)',
      'ftp://127.0.0.1/',
      'http://127.0.0.1.evil.example/',
    ]) {
      let error: unknown;
      try {
        parseConfig(urls(bad));
      } catch (caught) {
        error = caught;
      }
      expect(error, bad).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems, bad).toEqual([
        'github.apiUrl: must be an https URL (http only on loopback, for the local sandboxes)',
        'slack.apiUrl: must be an https URL (http only on loopback, for the local sandboxes)',
        'aws.endpoint: must be an https URL (http only on loopback, for the local sandboxes)',
      ]);
    }
    for (const good of [
      'https://github.example.com/api/v3',
      'http://127.0.0.1:4566/',
      'http://localhost:3000/',
    ]) {
      expect(parseConfig(urls(good)).github.apiUrl, good).toBe(good);
    }
  });

  it('checks shapes field by field', () => {
    expect(() =>
      parseConfig({
        ...valid,
        aws: {
          accounts: [account({ accountId: '1234', regions: ['Europe'], readRoleArn: 'role/x' })],
          automaticRemediation: { identityPolicyPaths: ['no-slashes'] },
        },
      }),
    ).toThrowError(
      /aws\.accounts\[0\]\.accountId[\s\S]*aws\.accounts\[0\]\.regions\[0\][\s\S]*aws\.accounts\[0\]\.readRoleArn[\s\S]*aws\.automaticRemediation\.identityPolicyPaths\[0\]/,
    );
  });

  it('accepts the local AWS sandbox on loopback', () => {
    expect(
      parseConfig({ ...valid, aws: { endpoint: 'http://127.0.0.1:4566/', accounts: [account()] } }).aws
        ?.endpoint,
    ).toBe('http://127.0.0.1:4566/');
  });
});

describe('the notifications section', () => {
  const email = (overrides: Record<string, unknown> = {}) => ({
    from: 'access-review@acme.example',
    to: ['security@acme.example'],
    ...overrides,
  });

  it('is optional: without it failures reach only the SNS topic', () => {
    expect(parseConfig(valid).notifications).toBeUndefined();
    const config = parseConfig({ ...valid, notifications: { slackChannel: 'C0123ABCDEF' } });
    expect(config.notifications).toEqual({ slackChannel: 'C0123ABCDEF' });
  });

  it('accepts a channel and an email with its SES identity, configuration set and region', () => {
    const config = parseConfig({
      ...valid,
      notifications: {
        slackChannel: 'G01SECURITY',
        email: email({
          to: ['security@acme.example', 'ciso@acme.example'],
          identity: 'acme.example',
          configurationSet: 'access-review',
          region: 'eu-west-1',
        }),
      },
    });
    expect(config.notifications?.email?.to).toEqual(['security@acme.example', 'ciso@acme.example']);
    expect(sesIdentity(config.notifications!.email!)).toBe('acme.example');
  });

  it('defaults the SES identity to the From address’s domain', () => {
    const config = parseConfig({ ...valid, notifications: { email: email() } });
    expect(sesIdentity(config.notifications!.email!)).toBe('acme.example');
  });

  it('names every bad field: channel, From, each recipient, identity, configuration set, region, endpoint', () => {
    let error: unknown;
    try {
      parseConfig({
        ...valid,
        notifications: {
          slackChannel: '#security',
          email: {
            from: 'Access Review',
            to: ['security@acme.example', 'not an address', 'x@y\r\nBcc: evil@example.com'],
            identity: 'not a domain',
            configurationSet: 'has spaces',
            region: 'Europe',
            endpoint: 'http://evil.example/',
            replyTo: 'someone@acme.example',
          },
        },
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    for (const field of [
      'notifications.slackChannel: must be a Slack channel id',
      'notifications.email.from: must be an email address',
      'notifications.email.to[1]: must be an email address',
      'notifications.email.to[2]: must be an email address',
      'notifications.email.identity: must be an SES identity',
      'notifications.email.configurationSet: must be an SES configuration set name',
      'notifications.email.region: must be an AWS region',
      'notifications.email.endpoint: must be an https URL',
      'notifications.email: Unrecognized key: "replyTo"',
    ]) {
      expect(
        problems.some((problem) => problem.startsWith(field)),
        `${field} in ${problems.join('\n')}`,
      ).toBe(true);
    }
    expect(problems.filter((problem) => problem.startsWith('notifications.email.to[0]'))).toEqual([]);
  });

  it('needs at least one recipient', () => {
    expect(() => parseConfig({ ...valid, notifications: { email: email({ to: [] }) } })).toThrowError(
      /notifications\.email\.to: /,
    );
  });

  it('refuses an identity the From address is not under', () => {
    const problemsFor = (identity: string, from = 'access-review@acme.example'): string[] => {
      try {
        parseConfig({ ...valid, notifications: { email: email({ identity, from }) } });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problemsFor('acme.example')).toEqual([]);
    expect(problemsFor('ACME.example')).toEqual([]);
    // A verified domain covers its subdomains; a TLD is no identity at all.
    expect(problemsFor('acme.example', 'access-review@mail.acme.example')).toEqual([]);
    expect(problemsFor('example')).toEqual([
      'notifications.email.identity: must be an SES identity: a domain (acme.example) or an email address',
    ]);
    expect(problemsFor('access-review@acme.example')).toEqual([]);
    expect(problemsFor('other.example')).toEqual([
      'notifications.email.identity: the From address access-review@acme.example is not under the domain other.example',
    ]);
    expect(problemsFor('cme.example')).toEqual([
      'notifications.email.identity: the From address access-review@acme.example is not under the domain cme.example',
    ]);
    expect(problemsFor('security@acme.example')).toEqual([
      'notifications.email.identity: "security@acme.example" is an address, and it is not the From address access-review@acme.example',
    ]);
  });
});

describe('the documented notifications example', () => {
  it('parses once uncommented, as an operator would enable it', () => {
    const text = readFileSync(new URL('../../config/access-review.example.yaml', import.meta.url), 'utf8');
    const block = text.slice(text.indexOf('# notifications:'));
    const enabled = block
      .split('\n')
      .map((line) => line.replace(/^# /, ''))
      .join('\n');
    const config = parseConfig({ ...valid, ...(parseYaml(enabled) as Record<string, unknown>) });
    expect(config.notifications).toEqual({
      slackChannel: 'C0123ABCDEF',
      email: {
        from: 'access-review@acme.example',
        to: ['security@acme.example'],
        identity: 'acme.example',
        summary: true,
        reviewTasks: true,
      },
    });
  });
});

describe('review cadence, end of window and justification', () => {
  it('defaults: reminders at 3, 7 and 12 days inside the window, no escalation, undecided left, every class justified', () => {
    const config = parseConfig(valid);
    expect(reviewReminderHours(config)).toEqual([72, 168, 288]);
    expect(config.review.escalateAfterHours).toBeUndefined();
    expect(endOfWindowPolicy(config, 'deploy_key')).toBe('leave');
    expect(config.review.justificationRequiredFor).toEqual([...JUSTIFIED_GRANT_CLASSES]);
  });

  it('default reminders stop at the end of a shorter window', () => {
    const config = parseConfig({ ...valid, review: { windowHours: 168 } });
    expect(reviewReminderHours(config)).toEqual([72]);
  });

  it('configured reminders are sorted and repeats dropped; the policy of a kind overrides the default', () => {
    const config = parseConfig({
      ...valid,
      review: {
        windowHours: 100,
        reminderHours: [48, 12, 48],
        escalateAfterHours: 60,
        endOfWindow: { default: 'keep', byGrantKind: { deploy_key: 'revoke' } },
        justificationRequiredFor: [],
      },
    });
    expect(reviewReminderHours(config)).toEqual([12, 48]);
    expect(endOfWindowPolicy(config, 'deploy_key')).toBe('revoke');
    expect(endOfWindowPolicy(config, 'team_membership')).toBe('keep');
    expect(config.review.justificationRequiredFor).toEqual([]);
  });

  it('names every cadence value outside the window and every bad policy, kind and class at once', () => {
    const problems = issuesOf({
      ...valid,
      review: { windowHours: 48, reminderHours: [24, 48], escalateAfterHours: 72 },
    });
    expect(problems).toEqual([
      'review.reminderHours[1]: 48 is not inside the review window (review.windowHours is 48)',
      'review.escalateAfterHours: 72 is not inside the review window (review.windowHours is 48)',
    ]);
    const shapes = issuesOf({
      ...valid,
      review: {
        windowHours: 48,
        endOfWindow: { default: 'delete', byGrantKind: { no_such_kind: 'keep' } },
        justificationRequiredFor: ['everything'],
      },
    });
    expect(shapes.map((line) => line.split(':')[0])).toEqual([
      'review.endOfWindow.default',
      'review.endOfWindow.byGrantKind',
      'review.justificationRequiredFor[0]',
    ]);
  });

  it('the security team is a Slack user group id', () => {
    expect(
      parseConfig({ ...valid, slack: { securityTeamUserGroup: 'S0SECTEAM' } }).slack.securityTeamUserGroup,
    ).toBe('S0SECTEAM');
    expect(issuesOf({ ...valid, slack: { securityTeamUserGroup: 'security' } })).toEqual([
      'slack.securityTeamUserGroup: must be a Slack user group id such as S0123ABCDEF',
    ]);
  });
});

describe('evidence retention', () => {
  const problemsFor = (evidence: unknown): string[] => {
    try {
      parseConfig({ ...valid, evidence });
      return [];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return error.problems;
    }
  };

  it('defaults to 548 days (a 12-month Type II window and the audit after it), with or without the section', () => {
    expect(parseConfig(valid).evidence).toEqual({ retentionDays: 548 });
    expect(parseConfig({ ...valid, evidence: {} }).evidence).toEqual({ retentionDays: 548 });
    expect(parseConfig({ ...valid, evidence: { retentionDays: 1 } }).evidence.retentionDays).toBe(1);
    expect(parseConfig({ ...valid, evidence: { retentionDays: 36_500 } }).evidence.retentionDays).toBe(
      36_500,
    );
  });

  it('names the field for a retention S3 Object Lock would refuse, or a stray key', () => {
    expect(problemsFor({ retentionDays: 0 })).toEqual(['evidence.retentionDays: must be at least 1 day']);
    expect(problemsFor({ retentionDays: -5 })).toEqual(['evidence.retentionDays: must be at least 1 day']);
    expect(problemsFor({ retentionDays: 36_501 })).toEqual([
      'evidence.retentionDays: must be at most 36500 days (100 years, the S3 Object Lock maximum)',
    ]);
    expect(problemsFor({ retentionDays: 1.5 })).toEqual([
      'evidence.retentionDays: must be a whole number of days',
    ]);
    for (const value of ['548', null, Number.NaN, Number.POSITIVE_INFINITY]) {
      const problems = problemsFor({ retentionDays: value });
      expect(problems, String(value)).toHaveLength(1);
      expect(problems[0], String(value)).toMatch(/^evidence\.retentionDays: /);
    }
    expect(problemsFor({ retentionDays: 30, mode: 'governance' })).toEqual([
      'evidence: Unrecognized key: "mode"',
    ]);
    expect(problemsFor('forever')).toHaveLength(1);
    expect(problemsFor('forever')[0]).toMatch(/^evidence: /);
  });

  it('is set in the example file to the default', () => {
    const text = readFileSync(new URL('../../config/access-review.example.yaml', import.meta.url), 'utf8');
    const example = parseYaml(text) as { evidence?: unknown };
    expect(example.evidence).toEqual({ retentionDays: 548 });
  });
});
