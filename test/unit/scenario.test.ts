import { describe, expect, it } from 'vitest';
import {
  IDENTITY_POLICY_REMEDIATION_ACTIONS,
  READ_ACTIONS,
  REVOKE_ACTIONS,
} from '../../functions/connectors/aws/permissions';
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

function scenarioSkeleton(): Record<string, unknown> {
  return {
    organization: { login: 'acme', members: [{ login: 'alice', email: 'alice@acme.example' }] },
    slack: { users: [] },
    config: { github: { organization: 'acme' }, routing: { fallbackReviewers: ['alice'] } },
  };
}

describe('scenario files', () => {
  it('loads the bundled demo scenario', async () => {
    const { scenario, config } = await loadScenarioFile('sandbox/scenarios/acme.yaml');
    expect(scenario.organization.login).toBe('acme');
    expect(config.people.map((p) => p.github)).toContain('alice');
  });

  it('gives the demo a local review window in which the escalation falls after everyone but dave is done', async () => {
    const { scenario, config } = await loadScenarioFile('sandbox/scenarios/acme.yaml');
    expect(scenario.localReviewWindowSeconds).toBe(60);
    const escalation = config.review.escalateAfterHours ?? 0;
    // At least 40 s before the escalation (a loaded machine), and 10 s after it to decide dave's grants.
    const seconds = (hours: number) => (hours / config.review.windowHours) * 60;
    expect(seconds(escalation)).toBeGreaterThanOrEqual(40);
    expect(60 - seconds(escalation)).toBeGreaterThanOrEqual(10);
    expect(problemsOf({ ...scenarioSkeleton(), localReviewWindowSeconds: 2 }).join('\n')).toContain(
      'localReviewWindowSeconds',
    );
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

describe('CI/CD cross references', () => {
  const base = {
    login: 'acme',
    members: [{ login: 'alice', email: 'alice@acme.example' }],
    teams: [
      { slug: 'platform', parent: 'sre' },
      { slug: 'sre', parent: 'platform' },
      { slug: 'web', parent: 'ghost' },
    ],
    customRoles: [{ name: 'auditor', baseRole: 'read' }],
    repositories: [
      {
        name: 'api',
        collaborators: { bob: 'auditor', eve: 'superuser' },
        invitations: [{ login: 'judy', permission: 'wrote', invitedBy: 'alice' }],
        environments: [{ name: 'prod', reviewers: { teams: ['nobody'] } }],
        branchProtection: [{ branch: 'main', pushAllowances: { apps: ['ghost-bot'] } }],
        rulesets: [{ name: 'r', bypassActors: [{ type: 'RepositoryRole', actor: 'wizard' }] }],
      },
    ],
    invitations: [{ invitedBy: 'alice' }],
    rulesets: [{ name: 'o', bypassActors: [{ type: 'OrganizationAdmin', actor: 'alice' }] }],
    secrets: [{ name: 'NPM_TOKEN', visibility: 'selected', repositories: ['apii'] }],
    variables: [{ name: 'REGION', visibility: 'selected', repositories: ['web'] }],
    runnerGroups: [{ name: 'g', visibility: 'selected', repositories: ['infra'] }],
    personalAccessTokens: [{ owner: 'alice', name: 't', repositories: ['docs'] }],
  };

  it('names every reference to something the scenario does not have, each by its field', () => {
    const problems = problemsOf({
      organization: base,
      slack: { users: [{ id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' }] },
      config: { github: { organization: 'acme' }, routing: { fallbackReviewers: ['alice'] } },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^organization\.teams\[0\]\.parent: teams form a cycle/),
        'organization.teams[2].parent: no team "ghost"',
        'organization.invitations[0]: give exactly one of login or email',
        'organization.repositories[0].collaborators.eve: "superuser" is neither a built-in nor a custom role',
        'organization.repositories[0].invitations[0].permission: "wrote" is not a role',
        'organization.repositories[0].environments[0].reviewers.teams[0]: no team "nobody"',
        'organization.repositories[0].branchProtection[0].pushAllowances.apps[0]: no installed app "ghost-bot"',
        'organization.repositories[0].rulesets[0].bypassActors[0].actor: "wizard" is not a repository role',
        'organization.rulesets[0].bypassActors[0].actor: a OrganizationAdmin bypass actor names no one',
        'organization.secrets[0].repositories[0]: no repository "apii"',
        'organization.variables[0].repositories[0]: no repository "web"',
        'organization.runnerGroups[0].repositories[0]: no repository "infra"',
        'organization.personalAccessTokens[0].repositories[0]: no repository "docs"',
      ]),
    );
    // A custom role by name is fine; so is an outside collaborator.
    expect(problems.join('\n')).not.toContain('collaborators.bob');
  });
});

describe('the AWS part of a scenario', () => {
  const minimal = (aws: unknown, configAws: unknown) => ({
    organization: { login: 'acme', members: [{ login: 'alice', email: 'alice@acme.example' }] },
    ...(aws === undefined ? {} : { aws }),
    slack: { users: [{ id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' }] },
    config: { github: { organization: 'acme' }, routing: { fallbackReviewers: ['alice'] }, aws: configAws },
  });
  const account = (id: string) => ({
    accountId: id,
    regions: ['eu-west-1'],
    readRoleArn: `arn:aws:iam::${id}:role/access-review-read`,
    revokeRoleArn: `arn:aws:iam::${id}:role/access-review-revoke`,
  });
  const hub = {
    hubAccountId: '000000000000',
    hubPrincipal: 'arn:aws:iam::000000000000:role/functions',
    accounts: [
      {
        id: '000000000000',
        roles: [
          {
            name: 'functions',
            trustPolicy: {
              Version: '2012-10-17',
              Statement: [
                { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
              ],
            },
          },
        ],
      },
    ],
  };

  it('refuses configured accounts and roles the simulated AWS does not have, and an endpoint', () => {
    expect(problemsOf(minimal(undefined, { accounts: [account('111122223333')] }))).toEqual([
      'config.aws: the scenario has no aws section to review',
    ]);
    expect(
      problemsOf(
        minimal(hub, {
          endpoint: 'http://127.0.0.1:1/',
          accounts: [account('111122223333'), account('000000000000')],
        }),
      ),
    ).toEqual([
      'config.aws.accounts[0].accountId: no account 111122223333 in aws.accounts',
      'config.aws.accounts[1].readRoleArn: no role "access-review-read" in account 000000000000',
      'config.aws.accounts[1].revokeRoleArn: no role "access-review-revoke" in account 000000000000',
      'config.aws.endpoint: leave it out; the embedded host points AWS calls at its sandbox',
    ]);
  });

  it('gives the bundled read and revoke roles exactly the permissions the connector lists', async () => {
    const { scenario } = await loadScenarioFile('sandbox/scenarios/acme.yaml');
    const production = scenario.aws?.accounts.find((a) => a.id === '111122223333');
    const statements = (name: string) =>
      (production?.policies.find((p) => p.name === name)?.document.Statement ?? []) as Array<{
        Effect: string;
        Action: string | string[];
      }>;
    const allowed = (name: string) =>
      statements(name)
        .filter((statement) => statement.Effect === 'Allow')
        .flatMap((statement) => [statement.Action].flat())
        .sort();
    expect(allowed('access-review-read')).toEqual([...READ_ACTIONS].sort());
    expect(allowed('access-review-revoke')).toEqual(
      [...REVOKE_ACTIONS, ...IDENTITY_POLICY_REMEDIATION_ACTIONS].sort(),
    );
    expect(
      statements('access-review-read')
        .filter((s) => s.Effect === 'Deny')
        .flatMap((s) => [s.Action].flat()),
    ).toEqual(['secretsmanager:GetSecretValue', 'kms:Decrypt']);
  });
});
