import { z } from 'zod';
import { type PolicyDocument, type PolicyKind, policyDocumentProblem } from './documents';
import { awsManagedPolicyArn, iamArn } from './ids';

/*
 * The `aws:` part of a scenario: the accounts the local AWS sandbox serves, their IAM (users,
 * groups, roles, customer managed policies, OIDC providers), KMS keys and Secrets Manager secrets,
 * and who the sandbox's base credentials act as. Shape errors come from the schema; references
 * between entries (a group that does not exist, a secret in another region than its key…) from
 * awsScenarioProblems, so that one pass names every problem.
 */

const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/*
 * Keys that could reach Object.prototype (`__proto__`, `constructor`, `prototype`) are refused
 * wherever a record is parsed. zod 4 silently drops an own `__proto__` key from records, so the
 * refusal looks at the raw input before the record schema does, and names the key: an author
 * whose key vanished without a word would be misled.
 */
function refuseReservedKeys(input: unknown, context: z.core.$RefinementCtx, path: PropertyKey[] = []): void {
  if (typeof input !== 'object' || input === null) return;
  for (const key of Object.keys(input)) {
    if (RESERVED_KEYS.has(key))
      context.addIssue({ code: 'custom', message: 'is a reserved key name', path: [...path, key] });
  }
}

/** z.record(z.string(), value) that refuses reserved keys (see above). */
function safeRecord<V extends z.ZodType>(value: V) {
  // Declared as a record of the value's types: what scenario authors and tests write, and what
  // parsing yields. Entries may be written as possibly-undefined (a union of literals often
  // types them so) though parsing never yields one.
  return z
    .unknown()
    .superRefine((input, context) => refuseReservedKeys(input, context))
    .pipe(z.record(z.string(), value)) as unknown as z.ZodType<
    Record<string, z.output<V>>,
    Partial<Record<string, z.input<V>>>
  >;
}

/** Problems with a JSON value at any depth: what JSON cannot hold, and reserved keys. */
function jsonProblems(value: unknown, path: PropertyKey[], context: z.core.$RefinementCtx): void {
  if (value === null || ['string', 'boolean'].includes(typeof value)) return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) context.addIssue({ code: 'custom', message: 'is not a JSON number', path });
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      jsonProblems(item, [...path, index], context);
    });
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    refuseReservedKeys(value, context, path);
    for (const [key, item] of Object.entries(value)) {
      if (!RESERVED_KEYS.has(key)) jsonProblems(item, [...path, key], context);
    }
    return;
  }
  context.addIssue({ code: 'custom', message: 'is not a JSON value', path });
}

function policyDocument(kind: PolicyKind) {
  return z.custom<PolicyDocument>().superRefine((document, context) => {
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      context.addIssue({ code: 'custom', message: `must be a ${kind} policy document (an object)` });
      return;
    }
    jsonProblems(document, [], context);
    const problem = policyDocumentProblem(document, kind);
    if (problem) context.addIssue({ code: 'custom', message: `not a valid ${kind} policy: ${problem}` });
  });
}

// Unquoted in YAML, 000000000000 is the number 0: say how to write it rather than "expected string".
const accountId = z
  .string({ error: 'must be a 12-digit account id in quotes' })
  .regex(/^\d{12}$/, 'must be a 12-digit account id in quotes');
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be a region such as eu-west-1');
const iamName = z.string().regex(/^[\w+=,.@-]{1,128}$/, 'must be an IAM name (letters, digits, +=,.@_-)');
const iamPath = z
  .string()
  .regex(/^\/(?:[\x21-\x7E]*\/)?$/, 'must be an IAM path that starts and ends with /')
  .default('/');
const timestamp = z.iso.datetime({ offset: true });
/** A managed policy: the name of a customer managed policy of the same account, or a policy ARN. */
const policyReference = z.string().min(1);
const inlinePolicies = safeRecord(policyDocument('identity'))
  .superRefine((policies, context) => {
    for (const name of Object.keys(policies)) {
      if (!/^[\w+=,.@-]{1,128}$/.test(name)) {
        context.addIssue({ code: 'custom', message: 'must be an IAM policy name', path: [name] });
      }
    }
  })
  .default({});
const tags = safeRecord(z.string()).default({});

const awsManagedPolicy = z.strictObject({
  name: iamName,
  path: iamPath,
  description: z.string().optional(),
  document: policyDocument('identity'),
});

const customerManagedPolicy = z.strictObject({
  name: iamName,
  path: iamPath,
  description: z.string().optional(),
  document: policyDocument('identity'),
  createDate: timestamp.optional(),
});

const group = z.strictObject({
  name: iamName,
  path: iamPath,
  managedPolicies: z.array(policyReference).default([]),
  inlinePolicies,
  createDate: timestamp.optional(),
});

const user = z.strictObject({
  name: iamName,
  path: iamPath,
  groups: z.array(iamName).default([]),
  managedPolicies: z.array(policyReference).default([]),
  inlinePolicies,
  permissionsBoundary: policyReference.optional(),
  tags,
  createDate: timestamp.optional(),
});

const role = z.strictObject({
  name: iamName,
  path: iamPath,
  description: z.string().optional(),
  trustPolicy: policyDocument('trust'),
  managedPolicies: z.array(policyReference).default([]),
  inlinePolicies,
  permissionsBoundary: policyReference.optional(),
  /** Longest session AssumeRole grants, in seconds (AWS: 1–12 hours). */
  maxSessionDuration: z.number().int().min(3600).max(43200).default(3600),
  tags,
  createDate: timestamp.optional(),
  /** When and where the role was last used (GetRole's RoleLastUsed); absent: never. */
  lastUsed: z.strictObject({ date: timestamp, region: region.optional() }).optional(),
});

const key = z.strictObject({
  id: z
    .string()
    .regex(
      /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/,
      'must be a KMS key id',
    ),
  region,
  /** Alias name without `alias/`. */
  alias: z
    .string()
    .regex(/^[a-zA-Z0-9/_-]{1,250}$/, 'must be an alias name without "alias/"')
    .refine((name) => !name.startsWith('aws/'), { message: 'aws/ aliases are reserved for AWS managed keys' })
    .optional(),
  description: z.string().default(''),
  /** Absent: KMS's default key policy (the account root may use IAM policies to allow access). */
  policy: policyDocument('resource').optional(),
  createDate: timestamp.optional(),
});

const secret = z.strictObject({
  name: z.string().regex(/^[\w/+=.@-]{1,512}$/, 'must be a secret name (letters, digits, /_+=.@-)'),
  region,
  description: z.string().optional(),
  /**
   * Alias (without `alias/`) or id of a key of the same account and region, or the ARN of a key of
   * another scenario account in the same region (AWS takes only an ARN for a key of another
   * account); absent: aws/secretsmanager.
   */
  kmsKey: z.string().min(1).optional(),
  resourcePolicy: policyDocument('resource').optional(),
  tags,
  /** What GetSecretValue returns; absent: a made-up value. */
  value: z.string().optional(),
  createDate: timestamp.optional(),
  lastChangedDate: timestamp.optional(),
  lastAccessedDate: timestamp.optional(),
});

const account = z.strictObject({
  id: accountId,
  name: z.string().min(1).optional(),
  /** Hosts of the account's OpenID Connect providers (token.actions.githubusercontent.com). */
  oidcProviders: z
    .array(
      z
        .string()
        .regex(/^[a-z0-9.-]+(\/[\w./-]*)?$/, 'must be a host such as token.actions.githubusercontent.com'),
    )
    .default([]),
  policies: z.array(customerManagedPolicy).default([]),
  groups: z.array(group).default([]),
  users: z.array(user).default([]),
  roles: z.array(role).default([]),
  keys: z.array(key).default([]),
  secrets: z.array(secret).default([]),
});

export const awsScenarioSchema = z.strictObject({
  /** The account access-review itself runs in. */
  hubAccountId: accountId,
  /** The role (or user) of the hub account the sandbox's base credentials act as. */
  hubPrincipal: z
    .string()
    .regex(/^arn:aws:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/, 'must be an IAM role or user ARN'),
  /** The AWS managed policies the scenario attaches anywhere (AWS's own documents, or the parts that matter). */
  awsManagedPolicies: z.array(awsManagedPolicy).default([]),
  accounts: z.array(account).min(1),
});

export type AwsScenario = z.output<typeof awsScenarioSchema>;
/** What a scenario author (or a test) writes, before defaults. */
export type AwsScenarioInput = z.input<typeof awsScenarioSchema>;
export type AwsScenarioAccount = AwsScenario['accounts'][number];

/** Zod's issues as `aws.accounts[0].users[1].name: <message>`, the way the scenario parser words problems. */
export function describeAwsIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
      .join('');
    return `aws${path}: ${issue.message}`;
  });
}

/** A policy reference resolved to its ARN, or why it does not resolve. */
export function resolvePolicyReference(
  reference: string,
  scenario: AwsScenario,
  account: AwsScenarioAccount,
): { arn: string } | { problem: string } {
  const arn = /^arn:aws:iam::(aws|\d{12}):policy(\/(?:.*\/)?)([^/]+)$/.exec(reference);
  if (arn) {
    const [, owner, path, name] = arn as unknown as [string, string, string, string];
    if (owner === 'aws') {
      const managed = scenario.awsManagedPolicies.find((p) => p.name === name && p.path === path);
      return managed
        ? { arn: reference }
        : { problem: `no AWS managed policy "${reference}" in aws.awsManagedPolicies` };
    }
    if (owner !== account.id) return { problem: `"${reference}" is in account ${owner}, not ${account.id}` };
    const local = account.policies.find((p) => p.name === name && p.path === path);
    return local
      ? { arn: reference }
      : { problem: `no managed policy "${reference}" in account ${account.id}` };
  }
  const local = account.policies.find((p) => p.name === reference);
  if (local) return { arn: iamArn(account.id, 'policy', local.path, local.name) };
  const managed = scenario.awsManagedPolicies.find((p) => p.name === reference);
  if (managed) return { arn: awsManagedPolicyArn(managed.path, managed.name) };
  return {
    problem: `no managed policy "${reference}" in account ${account.id} or in aws.awsManagedPolicies`,
  };
}

/** A key ARN as a secret's `kmsKey` may give it: region, account, key id. */
export const KEY_ARN = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):key\/([\w-]+)$/;

/** The key a secret's `kmsKey` names (alias or id), if the account has it. */
export function findScenarioKey(account: AwsScenarioAccount, reference: string, keyRegion: string) {
  const alias = reference.replace(/^alias\//, '');
  return (
    account.keys.find((k) => k.id === reference) ??
    account.keys.find((k) => k.alias === alias && k.region === keyRegion) ??
    account.keys.find((k) => k.alias === alias)
  );
}

function duplicates<T>(items: readonly T[], keyOf: (item: T) => string): Array<[number, string]> {
  const seen = new Set<string>();
  const found: Array<[number, string]> = [];
  items.forEach((item, index) => {
    const key = keyOf(item);
    if (seen.has(key)) found.push([index, key]);
    seen.add(key);
  });
  return found;
}

function accountProblems(scenario: AwsScenario, account: AwsScenarioAccount, at: string): string[] {
  const problems: string[] = [];
  const twice = <T>(list: string, field: string, items: readonly T[], keyOf: (item: T) => string) => {
    for (const [index, key] of duplicates(items, keyOf))
      problems.push(`${at}.${list}[${index}].${field}: "${key}" is listed twice`);
  };
  for (const list of ['policies', 'groups', 'users', 'roles'] as const) {
    twice<{ name: string }>(list, 'name', account[list], (entry) => entry.name);
  }
  twice('keys', 'id', account.keys, (k) => k.id);
  twice(
    'keys',
    'alias',
    account.keys.filter((k) => k.alias),
    (k) => `${k.region} alias/${k.alias}`,
  );
  twice('secrets', 'name', account.secrets, (s) => `${s.region} ${s.name}`);
  for (const [index, host] of duplicates(account.oidcProviders, (host) => host)) {
    problems.push(`${at}.oidcProviders[${index}]: "${host}" is listed twice`);
  }

  const referenceProblem = (reference: string | undefined, where: string) => {
    if (reference === undefined) return;
    const resolved = resolvePolicyReference(reference, scenario, account);
    if ('problem' in resolved) problems.push(`${where}: ${resolved.problem}`);
  };
  const policyProblems = (references: readonly string[], where: string) => {
    references.forEach((reference, index) => {
      referenceProblem(reference, `${where}[${index}]`);
    });
  };
  const groups = new Set(account.groups.map((g) => g.name));
  account.groups.forEach((g, index) => {
    policyProblems(g.managedPolicies, `${at}.groups[${index}].managedPolicies`);
  });
  account.users.forEach((u, index) => {
    u.groups.forEach((name, position) => {
      if (!groups.has(name)) {
        problems.push(
          `${at}.users[${index}].groups[${position}]: no group "${name}" in account ${account.id}`,
        );
      }
    });
    policyProblems(u.managedPolicies, `${at}.users[${index}].managedPolicies`);
    referenceProblem(u.permissionsBoundary, `${at}.users[${index}].permissionsBoundary`);
  });
  account.roles.forEach((r, index) => {
    policyProblems(r.managedPolicies, `${at}.roles[${index}].managedPolicies`);
    referenceProblem(r.permissionsBoundary, `${at}.roles[${index}].permissionsBoundary`);
  });
  account.secrets.forEach((s, index) => {
    if (s.kmsKey === undefined) return;
    const foreign = KEY_ARN.exec(s.kmsKey);
    if (foreign) {
      const [, keyRegion, keyAccount, keyId] = foreign;
      const owner = scenario.accounts.find((item) => item.id === keyAccount);
      if (!owner?.keys.some((k) => k.id === keyId && k.region === keyRegion)) {
        problems.push(`${at}.secrets[${index}].kmsKey: no key ${s.kmsKey} in the scenario`);
      } else if (keyRegion !== s.region) {
        problems.push(
          `${at}.secrets[${index}].kmsKey: key ${s.kmsKey} is in ${keyRegion}, the secret in ${s.region}`,
        );
      }
      return;
    }
    const found = findScenarioKey(account, s.kmsKey, s.region);
    if (!found) {
      problems.push(`${at}.secrets[${index}].kmsKey: no key "${s.kmsKey}" in account ${account.id}`);
    } else if (found.region !== s.region) {
      problems.push(
        `${at}.secrets[${index}].kmsKey: key "${s.kmsKey}" is in ${found.region}, the secret in ${s.region}`,
      );
    }
  });
  return problems;
}

/**
 * Every broken reference in the scenario, each as `aws.<path>: <problem>`: duplicates, groups,
 * policies, boundaries and keys that do not exist, a secret whose key is in another region, a hub
 * principal the hub account does not have. Empty when the scenario holds together.
 */
export function awsScenarioProblems(aws: AwsScenario): string[] {
  const problems: string[] = [];
  for (const [index, id] of duplicates(aws.accounts, (a) => a.id)) {
    problems.push(`aws.accounts[${index}].id: account ${id} is listed twice`);
  }
  for (const [index, name] of duplicates(aws.awsManagedPolicies, (p) => `${p.path}${p.name}`)) {
    problems.push(`aws.awsManagedPolicies[${index}].name: "${name}" is listed twice`);
  }
  aws.accounts.forEach((account, index) => {
    problems.push(...accountProblems(aws, account, `aws.accounts[${index}]`));
  });
  const hub = aws.accounts.find((a) => a.id === aws.hubAccountId);
  if (!hub) {
    problems.push(
      `aws.hubAccountId: no account ${aws.hubAccountId} in aws.accounts (list it, with the role its functions run as)`,
    );
  }
  const principal = /^arn:aws:iam::(\d{12}):(role|user)(\/(?:.*\/)?)([^/]+)$/.exec(aws.hubPrincipal);
  if (principal) {
    const [, owner, type, path, name] = principal as unknown as [string, string, string, string, string];
    if (owner !== aws.hubAccountId) {
      problems.push(`aws.hubPrincipal: "${aws.hubPrincipal}" is not in the hub account ${aws.hubAccountId}`);
    } else if (hub) {
      const entries: ReadonlyArray<{ name: string; path: string }> = type === 'role' ? hub.roles : hub.users;
      if (!entries.some((entry) => entry.name === name && entry.path === path)) {
        problems.push(`aws.hubPrincipal: no ${type} "${path}${name}" in account ${owner}`);
      }
    }
  }
  return problems;
}
