import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/errors';
import { loadScenarioFile, parseScenario } from '../../sandbox/scenario';

function problemsOf(input: unknown): string[] {
  try {
    parseScenario(input);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the scenario to be refused');
}

describe('scenario files', () => {
  it('loads the bundled demo scenario', async () => {
    const { scenario, config } = await loadScenarioFile('sandbox/scenarios/acme.yaml');
    expect(scenario.organization.login).toBe('acme');
    expect(config.people.map((p) => p.github)).toContain('alice');
  });

  it('names every bad field in one pass, the config section included', () => {
    const problems = problemsOf({
      organization: { login: 'acme', members: [], teams: [{ slug: 'Bad Slug' }] },
      slack: {},
      config: { routing: { fallbackReviewers: [] } },
    }).join('\n');
    expect(problems).toContain('organization.members');
    expect(problems).toContain('organization.teams[0].slug');
    expect(problems).toContain('config.github');
    expect(problems).toContain('config.routing.fallbackReviewers');
  });

  it('checks cross references: team members, repositories, reviewers and Slack users', () => {
    const problems = problemsOf({
      organization: {
        login: 'acme',
        members: [{ login: 'alice', email: 'alice@acme.example' }],
        teams: [{ slug: 'platform', members: ['zed'], repositories: { nope: 'write' } }],
      },
      slack: { users: [] },
      reviewers: { yan: {} },
      config: { github: { organization: 'other' }, routing: { fallbackReviewers: ['alice'] } },
    }).join('\n');
    expect(problems).toContain('organization.teams[0].members[0]: "zed" is not an organization member');
    expect(problems).toContain('organization.teams[0].repositories.nope: no such repository');
    expect(problems).toContain('reviewers.yan: not an organization member');
    expect(problems).toContain('config.github.organization: "other" is not the scenario\'s organization');
    expect(problems).toContain('config.people[0].email: no Slack user has alice@acme.example');
  });

  it("takes a reason on a reviewer rule only when it records the decision of the rule's list", async () => {
    const { scenario } = await loadScenarioFile('sandbox/scenarios/acme.yaml');
    expect(scenario.reviewers.alice?.revoke).toContainEqual({ principal: 'frank', reason: 'revoke:left' });

    const base = {
      organization: { login: 'acme', members: [{ login: 'alice', email: 'alice@acme.example' }] },
      slack: { users: [{ id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' }] },
      config: { github: { organization: 'acme' }, routing: { fallbackReviewers: ['alice'] } },
    };
    expect(() =>
      parseScenario({
        ...base,
        reviewers: { alice: { keep: [{ principal: 'bob', reason: 'keep:role' }] } },
      }),
    ).not.toThrow();
    const problems = problemsOf({
      ...base,
      reviewers: {
        alice: {
          keep: [{ principal: 'bob' }, { principal: 'frank', reason: 'revoke:left' }],
          revoke: [
            { principal: 'carol', reason: 'keep:temporary' },
            { principal: 'dan', reason: 'revoke:bored' },
          ],
        },
      },
    }).join('\n');
    expect(problems).toContain(
      'reviewers.alice.keep[1].reason: "revoke:left" is a revoke reason, but this rule is under keep',
    );
    expect(problems).toContain(
      'reviewers.alice.revoke[0].reason: "keep:temporary" is a keep reason, but this rule is under revoke',
    );
    expect(problems).toMatch(/reviewers\.alice\.revoke\[1\]\.reason: .*revoke:left/);
  });
});
