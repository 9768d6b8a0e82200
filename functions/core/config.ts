import { z } from 'zod';
import { ConfigError } from './errors';
import { RESOURCE_TYPES } from './grant';

const login = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'must be a GitHub login (letters, digits, hyphens)');

const ownerRule = z.strictObject({
  /**
   * `acme` (organization), `acme/api` (repository), `acme/platform` (team), or a CI/CD resource by
   * the name the evidence uses (`acme/api:production` environment, `acme/secrets/NPM_TOKEN` secret…).
   * Grants on an environment, branch or repository ruleset fall back to their repository's owner;
   * org-wide CI/CD resources to the organisation's owner.
   */
  resource: z.string().min(1),
  resourceType: z.enum(RESOURCE_TYPES),
  /** GitHub login of the person who vouches for access to this resource. */
  reviewer: login,
});

const person = z.strictObject({
  github: login,
  /** Used to find the person in Slack (users.lookupByEmail). */
  email: z.email(),
});

export const configSchema = z.strictObject({
  github: z.strictObject({
    organization: login,
    /** REST base URL; GraphQL is `${apiUrl}/graphql`. */
    apiUrl: z.url().default('https://api.github.com'),
  }),
  slack: z
    .strictObject({
      /** Web API base, ending in `/api/`. */
      apiUrl: z.url().default('https://slack.com/api/'),
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
  review: z
    .strictObject({
      /** How long a reviewer has before being recorded as unresponsive. */
      windowHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 24),
    })
    .default({ windowHours: 24 * 14 }),
  schedule: z
    .strictObject({
      /** IANA time zone for the quarterly run (09:00 on the 1st of Jan/Apr/Jul/Oct). */
      timezone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Madrid'),
    })
    .default({ timezone: 'UTC' }),
});

export type AccessReviewConfig = z.infer<typeof configSchema>;
export type OwnerRule = z.infer<typeof ownerRule>;

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
  const config = parseWith(configSchema, input, what);
  const problems: string[] = [];
  const known = new Set(config.people.map((p) => p.github.toLowerCase()));
  config.routing.owners.forEach((rule, index) => {
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
  if (problems.length > 0) throw new ConfigError(`${what} is invalid`, problems);
  return config;
}
