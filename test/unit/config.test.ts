import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/core/config';
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
});
