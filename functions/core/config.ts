import * as z from 'zod';
import { ConfigError } from './errors';
import { GRANT_KINDS, type GrantKind, RESOURCE_TYPES } from './grant';
import { prototypeKeyPaths } from './records';

const login = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'must be a GitHub login (letters, digits, hyphens)');

/**
 * What an owner rule can name: any resource type grants use, plus an AWS account as a whole and
 * a prefix of secret names in an account.
 */
export const OWNER_RESOURCE_TYPES = [...RESOURCE_TYPES, 'aws_account', 'aws_secret_prefix'] as const;

/**
 * Where credentials are sent: https anywhere, plain http only to this machine (the local
 * sandboxes). Anything else (`http://evil.example/`, `javascript:…`) is refused, by field.
 */
const serviceUrl = z
  .url()
  .refine(isAllowedEndpoint, 'must be an https URL (http only on loopback, for the local sandboxes)');

const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1');
const roleArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/,
    'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
  );
const iamPath = z
  .string()
  .regex(/^\/([\w+=,.@-]+\/)*$/, 'must be an IAM path such as /access-review-managed/');
const principalArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:(iam|sts)::\d{12}:(user|role|assumed-role)\/[\w+=,.@/-]+$/,
    'must be an IAM user, role or assumed-role ARN',
  );

const ownerRule = z.strictObject({
  /**
   * `acme` (organization), `acme/api` (repository), `acme/platform` (team), or a CI/CD resource by
   * the name the evidence uses (`acme/api:production` environment, `acme/secrets/NPM_TOKEN` secret…).
   * Grants on an environment, branch or repository ruleset fall back to their repository's owner;
   * org-wide CI/CD resources to the organisation's owner.
   * AWS: `111122223333` (aws_account), `111122223333:prod/payments/` (aws_secret_prefix: secrets
   * whose name starts so; the longest matching prefix wins), a secret's or role's ARN (aws_secret,
   * iam_role). A secret falls back to its prefix owner, then its account's; a role to its account's.
   */
  resource: z.string().min(1),
  resourceType: z.enum(OWNER_RESOURCE_TYPES),
  /** GitHub login of the person who vouches for access to this resource. */
  reviewer: login,
});

const person = z.strictObject({
  github: login,
  /**
   * Used to find the person in Slack (users.lookupByEmail). Two entries whose emails reach one
   * Slack user (aliases) are treated as one person when reviewers are assigned and decisions taken.
   */
  email: z.email(),
  /**
   * IAM users and roles this person acts as (their own user, a role only they assume): they never
   * review access those principals hold.
   */
  aws: z.array(principalArn).default([]),
});

const awsAccount = z.strictObject({
  accountId,
  /** A name people recognise (`production`), shown next to the id. */
  name: z.string().min(1).optional(),
  /** Regions whose secrets are reviewed. */
  regions: z.array(region).min(1),
  /** Read-only role assumed to snapshot and to verify (see lib/aws/member-account-roles.ts). */
  readRoleArn: roleArn,
  /** Role assumed to revoke; without it every AWS revocation becomes a remediation item. */
  revokeRoleArn: roleArn.optional(),
  /** ExternalId the member roles require, if they do. Not a secret: it guards against confused deputies. */
  externalId: z.string().min(2).max(1224).optional(),
});

const awsSection = z.strictObject({
  accounts: z.array(awsAccount).min(1),
  /**
   * Send every AWS API call here instead of AWS (the local AWS sandbox). Only loopback http URLs
   * or https are accepted.
   */
  endpoint: serviceUrl.optional(),
  automaticRemediation: z
    .strictObject({
      /**
       * IAM paths (`/access-review-managed/`) of customer managed policies, or of the users and
       * groups and roles owning inline policies, that a revoke may edit itself. Elsewhere an identity-policy
       * grant becomes a remediation item.
       */
      identityPolicyPaths: z.array(iamPath).default([]),
    })
    .default({ identityPolicyPaths: [] }),
  /** The host of GitHub's OIDC provider as IAM knows it. */
  githubOidcProvider: z.string().min(1).default('token.actions.githubusercontent.com'),
});

const slackChannelId = z
  .string()
  .regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C012ABCDEF');

/**
 * Limits on what one campaign may revoke before a person of the security team confirms it
 * (functions/core/revocation-guard.ts). Over a limit, ApplyRevocations waits for an approval in
 * Slack; the tool's own identities are never revoked at all.
 */
const revocationGuard = z.strictObject({
  /** Percent of the campaign's reviewable grants it may revoke without a confirmation. */
  maxRevokedPercent: z.number().min(0).max(100).default(20),
  /** Revocations of one principal's grants a campaign may apply without a confirmation. */
  maxPerPrincipal: z.number().int().min(0).default(10),
  /**
   * GitHub logins of the security team, who approve or reject a batch over a limit (each listed
   * in people, reached in Slack like reviewers). Default: routing.fallbackReviewers.
   */
  approvers: z.array(login).min(1).optional(),
  /** Slack channel the confirmation is posted to; without one, each approver gets a direct message. */
  channel: slackChannelId.optional(),
  /** How long the security team has to answer; no answer within it rejects the held revocations. */
  approvalWindowHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 14)
    .default(72),
  /** Emergency accounts: never revoked without a confirmation. */
  breakGlass: z
    .strictObject({
      github: z.array(login).default([]),
      aws: z.array(principalArn).default([]),
    })
    .default({ github: [], aws: [] }),
  /**
   * The tool's own identities, never revoked, in addition to those it finds itself (the GitHub
   * token's user or App, the configured read and revoke roles). A GitHub App's bot is `<slug>[bot]`.
   */
  ownIdentities: z
    .strictObject({
      github: z
        .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]*(\[bot\])?$/, 'must be a login or <app>[bot]'))
        .default([]),
      aws: z.array(principalArn).default([]),
    })
    .default({ github: [], aws: [] }),
});

/**
 * Where a failed, timed-out or aborted campaign is announced, besides the SNS topic the stack
 * always creates (output FailureTopicArn). Each channel is optional and independent.
 */
const notifications = z.strictObject({
  /** Channel (an id, C… or G…) the failure notice is posted to; the app's bot must be a member. */
  slackChannel: slackChannelId.optional(),
  /** An email through Amazon SES v2 (SendEmail). */
  email: z
    .strictObject({
      /**
       * The sender: an address SES may send from (verified itself, or under a verified domain).
       * Checked here because SES sandboxes and local stand-ins accept any string.
       */
      from: z.email('must be an email address such as access-review@acme.example'),
      /** Who is told: the security team's addresses. */
      to: z.array(z.email('must be an email address such as security@acme.example')).min(1),
      /**
       * The verified SES identity the sender belongs to: the From address itself or its domain.
       * The notify function may send as this identity only. Default: the From address's domain.
       */
      identity: z
        .string()
        .regex(
          /^(?:[^\s@]+@)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/,
          'must be an SES identity: a domain (acme.example) or an email address',
        )
        .optional(),
      /** The campaign summary, and "needs attention" when something does, to `to` at Finalize. */
      summary: z.boolean().default(true),
      /** Review tasks and their reminders by email, for people who cannot be reached in Slack. */
      reviewTasks: z.boolean().default(true),
      /** An SES configuration set to send with (delivery events, suppression), if you use one. */
      configurationSet: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an SES configuration set name (letters, digits, _ and -)')
        .optional(),
      /** Region of the SES identity. Default: the stack's region. */
      region: region.optional(),
      /**
       * Send SES calls here instead of AWS (aws-ses-v2-local, for the local host and tests).
       * Only loopback http URLs or https are accepted.
       */
      endpoint: serviceUrl.optional(),
    })
    .optional(),
});

const endOfWindowAction = z.enum(['leave', 'keep', 'revoke']);
export type EndOfWindowAction = z.infer<typeof endOfWindowAction>;

/**
 * Classes of grant whose Keep needs a reason (functions/core/justification.ts says which grants
 * fall in each): admin access, organisation owners, outside collaborators, deploy keys that can
 * write, and grants flagged for separation of duties.
 */
export const JUSTIFIED_GRANT_CLASSES = [
  'admin',
  'owner',
  'outside_collaborator',
  'deploy_key_write',
  'separation_of_duties',
] as const;
export type JustifiedGrantClass = (typeof JUSTIFIED_GRANT_CLASSES)[number];

/** Reminders at 3, 7 and 12 days unless configured: those inside the window. */
export const DEFAULT_REMINDER_HOURS = [72, 168, 288] as const;

/** 18 months: a 12-month SOC 2 Type II observation window plus the audit that follows it. */
export const EVIDENCE_RETENTION_DAYS_DEFAULT = 548;

export const configSchema = z.strictObject({
  github: z.strictObject({
    organization: login,
    /** REST base URL; GraphQL is `${apiUrl}/graphql`. The token is sent here: https only. */
    apiUrl: serviceUrl.default('https://api.github.com'),
  }),
  slack: z
    .strictObject({
      /** Web API base, ending in `/api/`. The bot token is sent here: https only. */
      apiUrl: serviceUrl.default('https://slack.com/api/'),
      /**
       * The Slack user group (its id, S…) whose members may run `/access-review`. Membership is
       * read from Slack (usergroups.users.list) at each command, never from the message. Absent:
       * the command refuses everyone and says why.
       */
      securityTeamUserGroup: z
        .string()
        .regex(/^S[A-Z0-9]{2,}$/, 'must be a Slack user group id such as S0123ABCDEF')
        .optional(),
    })
    .default({ apiUrl: 'https://slack.com/api/' }),
  routing: z.strictObject({
    /** Explicit owners win over everything else. */
    owners: z.array(ownerRule).default([]),
    /** A team's own access and memberships go to the team's maintainers when no owner is set. */
    teamMaintainersReview: z.boolean().default(true),
    /** Tried in order when the owner is missing or holds the access under review. */
    fallbackReviewers: z.array(login).min(1),
  }),
  people: z.array(person).default([]),
  /** AWS accounts whose secrets and GitHub OIDC deploy roles are reviewed; absent: AWS is not reviewed. */
  aws: awsSection.optional(),
  revocationGuard: revocationGuard.default({
    maxRevokedPercent: 20,
    maxPerPrincipal: 10,
    approvalWindowHours: 72,
    breakGlass: { github: [], aws: [] },
    ownIdentities: { github: [], aws: [] },
  }),
  review: z
    .strictObject({
      /** How long a reviewer has before being recorded as unresponsive. */
      windowHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 24),
      /**
       * Hours after the request at which a reviewer with undecided grants is reminded; each
       * inside the window. Absent: 3, 7 and 12 days, those that fall inside the window.
       */
      reminderHours: z.array(z.number().int('must be a whole number of hours').min(1)).optional(),
      /**
       * Hours after the request at which the undecided grants of a reviewer move to the next
       * eligible reviewer (never the principal). Absent: nobody is escalated.
       */
      escalateAfterHours: z.number().int('must be a whole number of hours').min(1).optional(),
      /**
       * What happens to grants still undecided when the window closes, per grant kind: left
       * undecided (the default), kept, or revoked. A kept or revoked grant is recorded as an
       * exception, never as a reviewer's decision.
       */
      endOfWindow: z
        .strictObject({
          default: endOfWindowAction.default('leave'),
          byGrantKind: z.partialRecord(z.enum(GRANT_KINDS), endOfWindowAction).default({}),
        })
        .default({ default: 'leave', byGrantKind: {} }),
      /** Grants whose Keep needs a written reason (a modal in Slack), kept in the chain and decisions.csv. */
      justificationRequiredFor: z
        .array(z.enum(JUSTIFIED_GRANT_CLASSES))
        .default([...JUSTIFIED_GRANT_CLASSES]),
    })
    .default({
      windowHours: 24 * 14,
      endOfWindow: { default: 'leave', byGrantKind: {} },
      justificationRequiredFor: [...JUSTIFIED_GRANT_CLASSES],
    }),
  schedule: z
    .strictObject({
      /** IANA time zone for the quarterly run (09:00 on the 1st of Jan/Apr/Jul/Oct). */
      timezone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Madrid'),
    })
    .default({ timezone: 'UTC' }),
  /** Absent: failures still reach the SNS topic (and its CloudWatch alarm), and nothing else. */
  notifications: notifications.optional(),
  evidence: z
    .strictObject({
      /**
       * Days each evidence pack stays locked in the stack's Object Lock bucket (compliance mode:
       * nobody, not even the account root, can delete or overwrite it before then). The default,
       * 548 days (18 months), covers a 12-month SOC 2 Type II window plus the audit after it.
       * S3 accepts up to 36500 days (100 years).
       */
      retentionDays: z
        .number()
        .int('must be a whole number of days')
        .min(1, 'must be at least 1 day')
        .max(36_500, 'must be at most 36500 days (100 years, the S3 Object Lock maximum)')
        .default(EVIDENCE_RETENTION_DAYS_DEFAULT),
    })
    .default({ retentionDays: EVIDENCE_RETENTION_DAYS_DEFAULT }),
});

export type AccessReviewConfig = z.infer<typeof configSchema>;
export type OwnerRule = z.infer<typeof ownerRule>;
export type AwsConfig = z.infer<typeof awsSection>;
export type AwsAccountConfig = z.infer<typeof awsAccount>;
export type RevocationGuardConfig = z.infer<typeof revocationGuard>;
export type NotificationsConfig = z.infer<typeof notifications>;
export type EmailNotificationConfig = NonNullable<NotificationsConfig['email']>;

/** Hours after the request at which a reviewer is reminded, ascending, each inside the window. */
export function reviewReminderHours(config: AccessReviewConfig): number[] {
  const hours =
    config.review.reminderHours ?? DEFAULT_REMINDER_HOURS.filter((h) => h < config.review.windowHours);
  return [...new Set(hours)].sort((a, b) => a - b);
}

/** What the end of the review window does to an undecided grant of this kind. */
export function endOfWindowPolicy(config: AccessReviewConfig, grantKind: GrantKind): EndOfWindowAction {
  return config.review.endOfWindow.byGrantKind[grantKind] ?? config.review.endOfWindow.default;
}

/** The SES identity a failure email is sent as: the configured one, else the From address's domain. */
export function sesIdentity(email: EmailNotificationConfig): string {
  return email.identity ?? email.from.slice(email.from.lastIndexOf('@') + 1);
}

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** `routing.owners[2].reviewer: must be a GitHub login …` for every problem at once. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path
      .map((part, index) =>
        typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
      )
      .join('');
    return `${path || '(top level)'}: ${issue.message}`;
  });
}

function parseWith<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(`${what} is invalid`, describeIssues(result.error.issues), { cause: result.error });
  }
  return result.data;
}

export function parseConfig(input: unknown, what = 'access-review configuration'): AccessReviewConfig {
  const unsafe = prototypeKeyPaths(input);
  if (unsafe.length > 0) {
    throw new ConfigError(
      `${what} is invalid`,
      unsafe.map((path) => `${path}: is not an accepted key (it would rewrite an object's prototype)`),
    );
  }
  const config = parseWith(configSchema, input, what);
  const problems: string[] = [...samePersonTwice(config.people)];
  const known = new Set(config.people.map((p) => p.github.toLowerCase()));
  const awsAccounts = new Set(config.aws?.accounts.map((account) => account.accountId) ?? []);
  config.routing.owners.forEach((rule, index) => {
    const awsProblem = awsOwnerProblem(rule, awsAccounts);
    if (awsProblem) problems.push(`routing.owners[${index}].resource: ${awsProblem}`);
    if (!['organization', 'repository', 'team'].includes(rule.resourceType)) {
      if (!known.has(rule.reviewer.toLowerCase())) {
        problems.push(`routing.owners[${index}].reviewer: "${rule.reviewer}" is not listed in people`);
      }
      return;
    }
    const expectedSlashes = rule.resourceType === 'organization' ? 0 : 1;
    if (rule.resource.split('/').length - 1 !== expectedSlashes) {
      problems.push(
        `routing.owners[${index}].resource: "${rule.resource}" is not a ${rule.resourceType} name (${
          expectedSlashes === 0 ? 'org' : 'org/name'
        })`,
      );
    }
    if (!known.has(rule.reviewer.toLowerCase())) {
      problems.push(`routing.owners[${index}].reviewer: "${rule.reviewer}" is not listed in people`);
    }
  });
  config.routing.fallbackReviewers.forEach((reviewer, index) => {
    if (!known.has(reviewer.toLowerCase())) {
      problems.push(`routing.fallbackReviewers[${index}]: "${reviewer}" is not listed in people`);
    }
  });
  config.aws?.accounts.forEach((account, index) => {
    for (const field of ['readRoleArn', 'revokeRoleArn'] as const) {
      const arn = account[field];
      if (arn && arn.split(':')[4] !== account.accountId) {
        problems.push(`aws.accounts[${index}].${field}: "${arn}" is not in account ${account.accountId}`);
      }
    }
  });
  const seenAccounts = new Set<string>();
  config.aws?.accounts.forEach((account, index) => {
    if (seenAccounts.has(account.accountId)) {
      problems.push(`aws.accounts[${index}].accountId: ${account.accountId} is listed twice`);
    }
    seenAccounts.add(account.accountId);
  });
  config.revocationGuard.approvers?.forEach((approver, index) => {
    if (!known.has(approver.toLowerCase())) {
      problems.push(`revocationGuard.approvers[${index}]: "${approver}" is not listed in people`);
    }
  });
  const window = config.review.windowHours;
  config.review.reminderHours?.forEach((hours, index) => {
    if (hours >= window) {
      problems.push(
        `review.reminderHours[${index}]: ${hours} is not inside the review window (review.windowHours is ${window})`,
      );
    }
  });
  const escalate = config.review.escalateAfterHours;
  if (escalate !== undefined && escalate >= window) {
    problems.push(
      `review.escalateAfterHours: ${escalate} is not inside the review window (review.windowHours is ${window})`,
    );
  }
  const identityProblem = config.notifications?.email && senderIdentityProblem(config.notifications.email);
  if (identityProblem) problems.push(`notifications.email.identity: ${identityProblem}`);
  if (problems.length > 0) throw new ConfigError(`${what} is invalid`, problems);
  return config;
}

/** The security team: configured approvers, else the fallback reviewers. */
export function revocationApprovers(config: AccessReviewConfig): string[] {
  return config.revocationGuard.approvers ?? config.routing.fallbackReviewers;
}

/**
 * One person, one entry: a login or an email listed twice would let one person review their own
 * access as "someone else". Each repeat names the entry it repeats.
 */
function samePersonTwice(people: AccessReviewConfig['people']): string[] {
  const problems: string[] = [];
  const byLogin = new Map<string, number>();
  const byEmail = new Map<string, number>();
  people.forEach((person, index) => {
    const login = person.github.toLowerCase();
    const email = person.email.toLowerCase();
    const loginSeen = byLogin.get(login);
    if (loginSeen !== undefined) {
      problems.push(`people[${index}].github: "${person.github}" is already people[${loginSeen}]`);
    } else byLogin.set(login, index);
    const emailSeen = byEmail.get(email);
    if (emailSeen !== undefined) {
      problems.push(
        `people[${index}].email: ${person.email} is also people[${emailSeen}].email (${people[emailSeen]?.github}): ${person.github} and ${people[emailSeen]?.github} would reach the same Slack user, so list one person once`,
      );
    } else byEmail.set(email, index);
  });
  return problems;
}

/** https anywhere; plain http only to this machine (the local sandboxes). */
function isAllowedEndpoint(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

/** Why an owner rule for an AWS resource cannot match anything, or undefined when it can. */
function awsOwnerProblem(rule: OwnerRule, awsAccounts: ReadonlySet<string>): string | undefined {
  const inAccount = (account: string | undefined, shape: string) =>
    account === undefined
      ? `"${rule.resource}" is not ${shape}`
      : awsAccounts.has(account)
        ? undefined
        : `account ${account} is not listed in aws.accounts`;
  switch (rule.resourceType) {
    case 'aws_account':
      return inAccount(/^\d{12}$/.test(rule.resource) ? rule.resource : undefined, 'a 12-digit account id');
    case 'aws_secret_prefix':
      return inAccount(
        /^(\d{12}):/.exec(rule.resource)?.[1],
        'an account id and a secret name prefix (111122223333:prod/)',
      );
    case 'aws_secret':
      return inAccount(
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:(\d{12}):secret:.+$/.exec(rule.resource)?.[1],
        'a Secrets Manager secret ARN',
      );
    case 'iam_role':
      return inAccount(/^arn:aws[a-z-]*:iam::(\d{12}):role\/.+$/.exec(rule.resource)?.[1], 'an IAM role ARN');
    default:
      return undefined;
  }
}

/**
 * SES sends as an address only under its identity: the address itself, or its domain (a verified
 * domain also covers its subdomains). A mismatch would be refused by SES at the worst moment.
 */
function senderIdentityProblem(email: EmailNotificationConfig): string | undefined {
  if (email.identity === undefined) return undefined;
  const identity = email.identity.toLowerCase();
  const from = email.from.toLowerCase();
  if (identity.includes('@')) {
    return identity === from
      ? undefined
      : `"${email.identity}" is an address, and it is not the From address ${email.from}`;
  }
  const domain = from.slice(from.lastIndexOf('@') + 1);
  return domain === identity || domain.endsWith(`.${identity}`)
    ? undefined
    : `the From address ${email.from} is not under the domain ${email.identity}`;
}
