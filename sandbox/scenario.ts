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
 * A Slack user group (`@security-team`): what `slack.securityTeamUserGroup` names, and what the
 * app asks Slack about (usergroups.users.list) before it obeys `/access-review`.
 */
const slackUserGroup = z.strictObject({
  id: z.string().regex(/^S[A-Z0-9]{2,}$/, 'must be a Slack user group id such as S0123ABCDEF'),
  handle: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a lower-case handle such as security-team'),
  name: z.string().optional(),
  /** Slack user ids of the members. */
  users: z.array(z.string()).default([]),
  disabled: z.boolean().default(false),
});

/**
 * The workspace's users: an address (a primary email or an alias, compared case-insensitively, as
 * Slack's lookup does) belongs to one user only, or lookupByEmail could not tell whom it means.
 */
const slackWorkspace = z
  .strictObject({ users: z.array(slackUser).default([]), userGroups: z.array(slackUserGroup).default([]) })
  .superRefine(({ users, userGroups }, context) => {
    const ids = new Set(users.map((user) => user.id));
    const groupIds = new Set<string>();
    userGroups.forEach((group, index) => {
      if (groupIds.has(group.id)) {
        context.addIssue({
          code: 'custom',
          path: ['userGroups', index, 'id'],
          message: `"${group.id}" is listed twice`,
        });
      }
      groupIds.add(group.id);
      group.users.forEach((id, position) => {
        if (!ids.has(id)) {
          context.addIssue({
            code: 'custom',
            path: ['userGroups', index, 'users', position],
            message: `"${id}" is not a Slack user of the scenario`,
          });
        }
      });
    });
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

/** The fields a rule selects grants with (no reason: the rules below carry their own). */
const plainSelector = grantSelector('keep').omit({ reason: true });

/** Keep, with a written reason typed into the modal "Keep…" opens (grants that need one). */
const justifyRule = plainSelector.extend({ text: z.string().min(1).max(3000) });

/** Choose "Downgrade to <to>" in the grant's menu instead of keeping or revoking it. */
const downgradeRule = plainSelector.extend({ to: z.string().min(1) });

/**
 * Hand a grant over ("Hand over…") to another person, by GitHub login; `all: true` hands the whole
 * remaining task over ("Hand over all…").
 */
const delegateRule = plainSelector.extend({
  all: z.boolean().default(false),
  to: z.string().min(1),
  note: z.string().max(500).optional(),
});

const reviewerBehaviour = z.strictObject({
  default: z.enum(['keep', 'revoke']).default('keep'),
  revoke: z.array(grantSelector('revoke')).default([]),
  keep: z.array(grantSelector('keep')).default([]),
  /** Click every button twice, as an impatient person (or a Slack retry) would. */
  doubleClick: z.boolean().default(false),
  /** Never answer: the review window runs out and the reviewer is recorded as unresponsive. */
  respond: z.boolean().default(true),
  /**
   * Ignore the review message until the n-th reminder arrives in its thread, then answer: the
   * reminder is what got them to act.
   */
  respondAfterReminder: z.number().int().min(1).optional(),
  /**
   * After the grants the rules single out (revokes, downgrades, hand-overs, written reasons),
   * keep the rest with one click on "Keep all remaining" (confirmed); grants that need a written
   * reason are not kept by it and are then kept one by one through the modal.
   */
  keepAllRemaining: z.boolean().default(false),
  /** Written reasons for keeping grants that need one (the first matching rule's text). */
  justify: z.array(justifyRule).default([]),
  /** What they write when no justify rule matches a grant they keep that needs a reason. */
  defaultJustification: z.string().min(1).max(3000).default('Still needed for their current role.'),
  downgrade: z.array(downgradeRule).default([]),
  delegate: z.array(delegateRule).default([]),
});

/**
 * A slash command a security team member types: `text` after `/access-review` (`status`,
 * `remind`, `start repo:acme/api -- reason`), when they receive their own review message
 * (`review_received`, after `delaySeconds`) or once the campaign the demo runs has completed
 * (`after_campaign`, run by the demo in order).
 */
const securityCommand = z.strictObject({
  text: z.string().min(1),
  when: z.enum(['review_received', 'after_campaign']).default('after_campaign'),
  delaySeconds: z.number().min(0).max(600).default(0),
});

const approvalAnswer = z.enum(['approve', 'reject', 'ignore']);

/**
 * A security team member: how they answer the revocation guard's request (approve, reject, or
 * ignore: never answers), and the commands they type. The short form is the answer alone.
 */
const securityMember = z
  .union([
    approvalAnswer,
    z.strictObject({
      approval: approvalAnswer.default('ignore'),
      commands: z.array(securityCommand).default([]),
    }),
  ])
  .transform((value) => (typeof value === 'string' ? { approval: value, commands: [] } : value));

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
   * The security team by GitHub login: how each answers the revocation guard's request to approve
   * a held batch (approve, reject, or ignore: never answers; the window closes), and the
   * `/access-review` commands they type.
   */
  securityTeam: z.record(z.string(), securityMember).default({}),
  /**
   * Seconds the review window lasts when this scenario runs on the embedded host (the demo's
   * default for `--review-window`): long enough for its people to click through their lists on a
   * loaded machine before the escalation, which falls at the same fraction of it as on AWS.
   */
  localReviewWindowSeconds: z.number().int().min(5).max(3600).optional(),
  /** The access-review configuration; `people` defaults to org members that have an email. */
  config: z.record(z.string(), z.unknown()),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioTeam = z.infer<typeof team>;
export type ScenarioRepository = z.infer<typeof repository>;
export type ReviewerBehaviour = z.infer<typeof reviewerBehaviour>;
export type GrantSelector = z.infer<ReturnType<typeof grantSelector>>;
export type SecurityCommand = z.infer<typeof securityCommand>;
export type SecurityMember = z.infer<typeof securityMember>;

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
  for (const [login, behaviour] of Object.entries(scenario.reviewers)) {
    if (!members.has(login)) problems.push(`reviewers.${login}: not an organization member`);
    behaviour.delegate.forEach((rule, index) => {
      if (!members.has(rule.to))
        problems.push(`reviewers.${login}.delegate[${index}].to: "${rule.to}" is not an organization member`);
      if (rule.to === login)
        problems.push(
          `reviewers.${login}.delegate[${index}].to: a reviewer cannot hand a grant to themselves`,
        );
    });
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
    // Someone not in Slack is reviewed by email, which needs email configured with review tasks on.
    const byEmail = config.notifications?.email?.reviewTasks === true;
    config.people.forEach((p, index) => {
      if (!byEmail && !slackEmails.has(p.email.toLowerCase())) {
        problems.push(
          `config.people[${index}].email: no Slack user has ${p.email} (and review tasks are not emailed)`,
        );
      }
    });
    const group = config.slack.securityTeamUserGroup;
    if (group !== undefined && !scenario.slack.userGroups.some((candidate) => candidate.id === group)) {
      problems.push(`config.slack.securityTeamUserGroup: no user group ${group} in slack.userGroups`);
    }
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
