import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { type AccessReviewConfig, configSchema, describeIssues, parseConfig } from '../functions/core/config';
import { ConfigError } from '../functions/core/errors';
import { GRANT_KINDS, REPOSITORY_PERMISSIONS } from '../functions/core/grant';
import { prototypeKeyPaths } from '../functions/core/records';
import { decisionOfReason, REASON_CODES } from '../functions/slack/blocks';
import { awsScenarioProblems, awsScenarioSchema } from './aws/scenario';
import { cicdProblems, organizationCicd, repositoryCicd, repositoryRole } from './cicd-scenario';

/**
 * A scenario is a simulated GitHub organisation, a Slack workspace and the behaviour of each
 * simulated reviewer, plus the access-review configuration to run against them.
 */
const repositoryPermission = z.enum(REPOSITORY_PERMISSIONS);

const member = z.strictObject({
  login: z.string().min(1),
  role: z.enum(['owner', 'member']).default('member'),
  email: z.email().optional(),
  name: z.string().optional(),
  /** False for a member who has not turned on two-factor authentication. */
  twoFactor: z.boolean().default(true),
});

const team = z.strictObject({
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a lower-case team slug'),
  name: z.string().optional(),
  maintainers: z.array(z.string()).default([]),
  members: z.array(z.string()).default([]),
  /** Repository name (without the org) → the team's permission on it. */
  repositories: z.record(z.string(), repositoryPermission).default({}),
  /** The parent team's slug: members of this team inherit the parent's repository access. */
  parent: z.string().optional(),
});

const repository = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a repository name'),
  private: z.boolean().default(true),
  /**
   * Login → direct permission: a built-in role or a custom role of the organisation. Logins that
   * are not org members are outside collaborators.
   */
  collaborators: z.record(z.string(), repositoryRole).default({}),
  ...repositoryCicd,
});

const slackUser = z.strictObject({
  id: z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id such as U012ABCDEF'),
  name: z.string().min(1),
  email: z.email(),
  /** More addresses of the same account; users.lookupByEmail finds the user by any of them. */
  aliases: z.array(z.email()).optional(),
});

/**
 * The workspace's users: an address (a primary email or an alias, compared case-insensitively, as
 * Slack's lookup does) belongs to one user only, or lookupByEmail could not tell whom it means.
 */
const slackWorkspace = z
  .strictObject({ users: z.array(slackUser).default([]) })
  .superRefine(({ users }, context) => {
    const owners = new Map<string, number>();
    users.forEach((user, index) => {
      const addresses: Array<[string, Array<string | number>]> = [
        [user.email, ['users', index, 'email']],
        ...(user.aliases ?? []).map((alias, position): [string, Array<string | number>] => [
          alias,
          ['users', index, 'aliases', position],
        ]),
      ];
      for (const [address, path] of addresses) {
        const key = address.toLowerCase();
        const owner = owners.get(key);
        if (owner !== undefined) {
          context.addIssue({
            code: 'custom',
            path,
            message:
              owner === index
                ? `"${address}" is listed twice for this user`
                : `"${address}" is already an address of slack.users[${owner}]`,
          });
        } else {
          owners.set(key, index);
        }
      }
    });
  });

/**
 * Which of a reviewer's grants a rule in the `keep` or `revoke` list decides. With a `reason` (a
 * code of the message's "…" menu), the reviewer chooses that option instead of clicking the plain
 * button, and the reason's text is recorded as the justification. A reason records its own
 * decision, so it must be one of the list it is in (checked on the field, so that one pass names
 * every bad rule).
 */
function grantSelector(list: 'keep' | 'revoke') {
  return z.strictObject({
    principal: z.string().optional(),
    resource: z.string().optional(),
    entitlement: z.string().optional(),
    /** A grant kind such as deploy_key, for grants whose principal carries an id the scenario cannot know. */
    kind: z.enum(GRANT_KINDS).optional(),
    /** The person behind a token or invitation. */
    holder: z.string().optional(),
    /** An AWS secret by name (its ARN ends in a suffix AWS chooses). */
    secretName: z.string().optional(),
    /** How the access was obtained, as the evidence labels it; a prefix matches (`identity_policy:`). */
    via: z.string().optional(),
    reason: z
      .enum(REASON_CODES)
      .superRefine((reason, context) => {
        const decision = decisionOfReason(reason);
        if (decision !== list) {
          context.addIssue({
            code: 'custom',
            message: `"${reason}" is a ${decision} reason, but this rule is under ${list}`,
          });
        }
      })
      .optional(),
  });
}

const reviewerBehaviour = z.strictObject({
  default: z.enum(['keep', 'revoke']).default('keep'),
  revoke: z.array(grantSelector('revoke')).default([]),
  keep: z.array(grantSelector('keep')).default([]),
  /** Click every button twice, as an impatient person (or a Slack retry) would. */
  doubleClick: z.boolean().default(false),
  /** Never answer: the review window runs out and the reviewer is recorded as unresponsive. */
  respond: z.boolean().default(true),
});

export const organizationSchema = z.strictObject({
  login: z.string().min(1),
  /**
   * The user the sandbox's token belongs to (what `GET /user` answers): the tool's own GitHub
   * identity, a member or not. Absent: the token is a GitHub App installation's, and `GET /user`
   * is refused as GitHub refuses it.
   */
  viewer: z.string().min(1).optional(),
  basePermission: z.enum(['none', 'read', 'write', 'admin']).default('read'),
  members: z.array(member).min(1),
  teams: z.array(team).default([]),
  repositories: z.array(repository).default([]),
  ...organizationCicd,
});

export const scenarioSchema = z.strictObject({
  description: z.string().optional(),
  organization: organizationSchema,
  /** Simulated AWS accounts (IAM, STS, Secrets Manager, KMS) for the AWS connector; see sandbox/aws/scenario.ts. */
  aws: awsScenarioSchema.optional(),
  slack: slackWorkspace,
  reviewers: z.record(z.string(), reviewerBehaviour).default({}),
  /**
   * How each member of the security team answers the revocation guard's request to approve a
   * held batch, by GitHub login: approve, reject, or ignore (never answers; the window closes).
   */
  securityTeam: z.record(z.string(), z.enum(['approve', 'reject', 'ignore'])).default({}),
  /** The access-review configuration; `people` defaults to org members that have an email. */
  config: z.record(z.string(), z.unknown()),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioTeam = z.infer<typeof team>;
export type ScenarioRepository = z.infer<typeof repository>;
export type ReviewerBehaviour = z.infer<typeof reviewerBehaviour>;
export type GrantSelector = z.infer<ReturnType<typeof grantSelector>>;

export interface LoadedScenario {
  scenario: Scenario;
  config: AccessReviewConfig;
}

/** Validates the scenario and its cross references; every problem is named in one error. */
export function parseScenario(input: unknown, what = 'scenario'): LoadedScenario {
  const unsafe = prototypeKeyPaths(input);
  if (unsafe.length > 0) {
    throw new ConfigError(
      `${what} is invalid`,
      unsafe.map((path) => `${path}: is not an accepted key (it would rewrite an object's prototype)`),
    );
  }
  const result = scenarioSchema.safeParse(input);
  if (!result.success) {
    // Report the config section's problems in the same pass, so one run names every bad field.
    const problems = describeIssues(result.error.issues);
    const rawConfig = (input as { config?: unknown } | null)?.config;
    if (rawConfig && typeof rawConfig === 'object' && !problems.some((p) => p.startsWith('config'))) {
      const withPeople = { people: [], ...(rawConfig as Record<string, unknown>) };
      const configResult = configSchema.safeParse(withPeople);
      if (!configResult.success)
        problems.push(...describeIssues(configResult.error.issues).map((p) => `config.${p}`));
    }
    throw new ConfigError(`${what} is invalid`, problems, { cause: result.error });
  }
  const scenario = result.data;
  const problems: string[] = [];
  const org = scenario.organization;
  const members = new Set(org.members.map((m) => m.login));
  const repositories = new Set(org.repositories.map((r) => r.name));
  const duplicates = (values: string[]) => values.filter((value, index) => values.indexOf(value) !== index);
  for (const login of duplicates(org.members.map((m) => m.login))) {
    problems.push(`organization.members: "${login}" is listed twice`);
  }
  for (const slug of duplicates(org.teams.map((t) => t.slug))) {
    problems.push(`organization.teams: "${slug}" is listed twice`);
  }
  for (const name of duplicates(org.repositories.map((r) => r.name))) {
    problems.push(`organization.repositories: "${name}" is listed twice`);
  }
  org.teams.forEach((t, index) => {
    for (const field of ['maintainers', 'members'] as const) {
      t[field].forEach((login, position) => {
        if (!members.has(login)) {
          problems.push(
            `organization.teams[${index}].${field}[${position}]: "${login}" is not an organization member`,
          );
        }
      });
    }
    for (const name of Object.keys(t.repositories)) {
      if (!repositories.has(name)) {
        problems.push(`organization.teams[${index}].repositories.${name}: no such repository`);
      }
    }
  });
  problems.push(...cicdProblems(org));
  if (scenario.aws) problems.push(...awsScenarioProblems(scenario.aws));
  for (const login of Object.keys(scenario.reviewers)) {
    if (!members.has(login)) problems.push(`reviewers.${login}: not an organization member`);
  }
  for (const login of Object.keys(scenario.securityTeam)) {
    if (!members.has(login)) problems.push(`securityTeam.${login}: not an organization member`);
  }

  const slackEmails = new Set(
    scenario.slack.users.flatMap((u) => [u.email, ...(u.aliases ?? [])]).map((e) => e.toLowerCase()),
  );

  const rawConfig = { ...scenario.config };
  if (rawConfig.people === undefined) {
    rawConfig.people = org.members
      .filter((m) => m.email !== undefined)
      .map((m) => ({ github: m.login, email: m.email }));
  }
  let config: AccessReviewConfig | undefined;
  try {
    config = parseConfig(rawConfig, `${what}: config`);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems.map((problem) => `config.${problem}`));
  }
  if (config) {
    if (config.github.organization !== org.login) {
      problems.push(
        `config.github.organization: "${config.github.organization}" is not the scenario's organization`,
      );
    }
    config.people.forEach((p, index) => {
      if (!slackEmails.has(p.email.toLowerCase())) {
        problems.push(`config.people[${index}].email: no Slack user has ${p.email}`);
      }
    });
    problems.push(...awsConfigProblems(config, scenario));
  }
  if (problems.length > 0 || !config) throw new ConfigError(`${what} is invalid`, problems);
  return { scenario, config };
}

/** The configured AWS accounts and their roles must exist in the scenario's simulated AWS. */
function awsConfigProblems(config: AccessReviewConfig, scenario: Scenario): string[] {
  if (!config.aws) return [];
  if (!scenario.aws) return ['config.aws: the scenario has no aws section to review'];
  const problems: string[] = [];
  const accounts = new Map(scenario.aws.accounts.map((account) => [account.id, account]));
  config.aws.accounts.forEach((configured, index) => {
    const account = accounts.get(configured.accountId);
    if (!account) {
      problems.push(
        `config.aws.accounts[${index}].accountId: no account ${configured.accountId} in aws.accounts`,
      );
      return;
    }
    for (const field of ['readRoleArn', 'revokeRoleArn'] as const) {
      const arn = configured[field];
      if (!arn) continue;
      const name = arn.split('/').at(-1);
      if (!account.roles.some((role) => role.name === name)) {
        problems.push(`config.aws.accounts[${index}].${field}: no role "${name}" in account ${account.id}`);
      }
    }
  });
  if (config.aws.endpoint) {
    problems.push('config.aws.endpoint: leave it out; the embedded host points AWS calls at its sandbox');
  }
  return problems;
}

export async function loadScenarioFile(path: string): Promise<LoadedScenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read scenario ${path}`, [String(error)], { cause: error });
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`scenario ${path} is not valid YAML`, [String(error)], { cause: error });
  }
  return parseScenario(data, `scenario ${path}`);
}

export { configSchema };
