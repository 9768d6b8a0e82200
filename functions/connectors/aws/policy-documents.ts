import { createHash } from 'node:crypto';
import { PolicyDocumentError } from './errors';

/**
 * IAM policy documents as JSON gives them. Every element that may be a string or a list is typed
 * as such, because AWS keeps whichever form the author wrote and a rewrite must keep it too.
 */
export type OneOrMany = string | string[];

export interface PrincipalBlock {
  AWS?: OneOrMany;
  Service?: OneOrMany;
  Federated?: OneOrMany;
  CanonicalUser?: OneOrMany;
}

/** Condition operator → condition key → value(s). Values may be booleans or numbers in JSON. */
export type ConditionBlock = Record<string, Record<string, unknown>>;

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | PrincipalBlock;
  NotPrincipal?: '*' | PrincipalBlock;
  Action?: OneOrMany;
  NotAction?: OneOrMany;
  Resource?: OneOrMany;
  NotResource?: OneOrMany;
  Condition?: ConditionBlock;
}

export interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

/** The document text IAM returned, without its RFC 3986 URL encoding (a lossless step). */
export function decodeIamDocument(text: string): string {
  // IAM URL-encodes every document it returns (GetAccountAuthorizationDetails, GetRole,
  // GetPolicyVersion, Get*Policy); JSON itself never starts with '%'. A document that already
  // starts with '{' (a server that does not encode) is kept as it is, so '%' inside it survives.
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) return text;
  try {
    return decodeURIComponent(text);
  } catch (error) {
    throw new PolicyDocumentError('an IAM policy document is neither JSON nor URL-encoded JSON', {
      cause: error,
    });
  }
}

/** Parses a policy document; `where` names it in the error ("the resource policy of prod/db"). */
export function parsePolicy(text: string, where: string): PolicyDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PolicyDocumentError(`${where} is not valid JSON`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PolicyDocumentError(`${where} is not a JSON object`);
  }
  const statement = (value as { Statement?: unknown }).Statement;
  const statements = Array.isArray(statement) ? statement : statement === undefined ? [] : [statement];
  statements.forEach((item, index) => {
    const effect = (item as { Effect?: unknown } | null)?.Effect;
    if (typeof item !== 'object' || item === null || (effect !== 'Allow' && effect !== 'Deny')) {
      throw new PolicyDocumentError(`${where}: statement ${index + 1} has no Effect of Allow or Deny`);
    }
  });
  return value as PolicyDocument;
}

export function statementsOf(document: PolicyDocument | null | undefined): PolicyStatement[] {
  if (!document) return [];
  return Array.isArray(document.Statement) ? document.Statement : [document.Statement];
}

export function listOf(value: OneOrMany | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Serialises a document to send it: compact, keys in the order they were read. */
export function serializePolicy(document: PolicyDocument): string {
  return JSON.stringify(document);
}

/** A document with the same top-level fields and `statements` in place of its statements. */
export function withStatements(document: PolicyDocument, statements: PolicyStatement[]): PolicyDocument {
  return { ...document, Statement: statements };
}

const patternCache = new Map<string, RegExp>();

/** IAM's wildcard match: `*` any run of characters, `?` exactly one. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const key = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let regex = patternCache.get(key);
  if (!regex) {
    const source = pattern
      .split('')
      .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
      .join('');
    regex = new RegExp(`^${source}$`, ignoreCase ? 'si' : 's');
    if (patternCache.size > 10_000) patternCache.clear();
    patternCache.set(key, regex);
  }
  return regex.test(value);
}

/** Whether the statement's Action (or NotAction) can cover `action`. Action names ignore case. */
export function statementCoversAction(statement: PolicyStatement, action: string): boolean {
  if (statement.Action !== undefined) {
    return listOf(statement.Action).some((pattern) => wildcardMatch(pattern, action, true));
  }
  if (statement.NotAction !== undefined) {
    return !listOf(statement.NotAction).some((pattern) => wildcardMatch(pattern, action, true));
  }
  return false;
}

/**
 * A resource pattern with its policy variables (`${aws:username}`) widened to `*`: what it may
 * match for some principal. Used where "could cover" must not miss anything.
 */
export function widenVariables(pattern: string): string {
  return pattern.replace(/\$\{[^}]*\}/g, '*');
}

/** True when a Resource entry is a pattern (wildcards or policy variables), not one ARN. */
export function isPattern(resource: string): boolean {
  return /[*?]|\$\{/.test(resource);
}

/**
 * Whether the statement's Resource (or NotResource) can cover `arn`: policy variables count as
 * matching anything in a Resource (it may, for some principal) and nothing in a NotResource. No
 * Resource at all: a resource policy's statement, about the resource itself.
 */
export function statementCoversResource(statement: PolicyStatement, arn: string): boolean {
  if (statement.Resource !== undefined) {
    return listOf(statement.Resource).some((pattern) => wildcardMatch(widenVariables(pattern), arn));
  }
  if (statement.NotResource !== undefined) {
    return !listOf(statement.NotResource).some(
      (pattern) => !pattern.includes('${') && wildcardMatch(pattern, arn),
    );
  }
  return true;
}

/** Whether the statement is an Allow that can cover `action` on `arn`. */
export function statementAllows(statement: PolicyStatement, action: string, arn: string): boolean {
  return (
    statement.Effect === 'Allow' &&
    statementCoversAction(statement, action) &&
    statementCoversResource(statement, arn)
  );
}

/** The principals a statement names, by kind; `anyone` for `"Principal": "*"` or `{"AWS": "*"}`. */
export interface NamedPrincipals {
  anyone: boolean;
  aws: string[];
  service: string[];
  federated: string[];
  canonicalUser: string[];
}

export function principalsOf(principal: PolicyStatement['Principal']): NamedPrincipals {
  if (principal === undefined)
    return { anyone: false, aws: [], service: [], federated: [], canonicalUser: [] };
  if (principal === '*') return { anyone: true, aws: [], service: [], federated: [], canonicalUser: [] };
  const aws = listOf(principal.AWS);
  return {
    anyone: aws.includes('*'),
    aws: aws.filter((value) => value !== '*'),
    service: listOf(principal.Service),
    federated: listOf(principal.Federated),
    canonicalUser: listOf(principal.CanonicalUser),
  };
}

/** `arn:aws:iam::111122223333:root` for `111122223333` (AWS accepts both in a Principal). */
export function accountPrincipalArn(value: string, partition = 'aws'): string {
  return /^\d{12}$/.test(value) ? `arn:${partition}:iam::${value}:root` : value;
}

/** The account id an AWS principal names (`111122223333`, a root, user or role ARN), or undefined. */
export function accountOfPrincipal(value: string): string | undefined {
  if (/^\d{12}$/.test(value)) return value;
  const account = value.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
}

/** True for `arn:aws:iam::111122223333:root` or `111122223333`: the whole account. */
export function isAccountPrincipal(value: string): boolean {
  return /^\d{12}$/.test(value) || /^arn:aws[a-z-]*:iam::\d{12}:root$/.test(value);
}

/**
 * How a statement is named in evidence and messages: `ReadPayments (statement 2) of
 * arn:aws:iam::111122223333:policy/X`, or `statement 1 of <where>` without a Sid. Indexes are
 * 1-based, as iam-simulate and the IAM console count them.
 */
export function statementLabel(
  statement: Pick<PolicyStatement, 'Sid'>,
  index: number,
  where: string,
): string {
  return statement.Sid
    ? `${statement.Sid} (statement ${index}) of ${where}`
    : `statement ${index} of ${where}`;
}

/** One changed document for the evidence: both texts exactly as read and as sent, and their SHA-256. */
export function policyChange(
  policy: string,
  before: string | null,
  after: string | null,
): {
  policy: string;
  before: string | null;
  after: string | null;
  beforeSha256: string | null;
  afterSha256: string | null;
} {
  return {
    policy,
    before,
    after,
    beforeSha256: before === null ? null : sha256Hex(before),
    afterSha256: after === null ? null : sha256Hex(after),
  };
}

/** The IAM path in an IAM ARN: `/ci/` of `arn:aws:iam::1:role/ci/deploy`, `/` of `arn:aws:iam::1:user/alice`. */
export function pathOfArn(arn: string): string {
  const resource = arn.split(':').slice(5).join(':');
  const segments = resource.split('/').slice(1, -1);
  return segments.length === 0 ? '/' : `/${segments.join('/')}/`;
}

/** The entity name in an IAM ARN: `deploy` of `arn:aws:iam::1:role/ci/deploy`. */
export function nameOfArn(arn: string): string {
  const resource = arn.split(':').slice(5).join(':');
  return resource.split('/').pop() ?? '';
}

/**
 * What is left of a statement's actions (or resources) once one action (or one resource) is taken
 * out, written so that IAM evaluates it as exactly the original set minus that one:
 * - `nothing`: the statement named only that one;
 * - `left`: the fields to write in place of Action/NotAction (or Resource/NotResource), and the
 *   change in words;
 * - `inexpressible`: a wildcard other than `*` covers it (`secretsmanager:*`, `prod/*`): IAM has no
 *   way to write "the pattern but not this one" (no character classes, and no Action with
 *   NotAction, nor Resource with NotResource, in one statement), and `why` says so.
 */
export type Remainder =
  | { kind: 'nothing' }
  | { kind: 'left'; part: Partial<PolicyStatement>; words: (statement: string) => string }
  | { kind: 'inexpressible'; why: string };

/** A list where the author wrote a list (or where several are left), a string otherwise. */
function sameForm(original: OneOrMany | undefined, values: string[]): OneOrMany {
  return Array.isArray(original) || values.length !== 1 ? values : (values[0] ?? '');
}

/**
 * The statement's actions without `action` (which it must cover). An explicit list loses the
 * entries naming it; `*` becomes NotAction [action] (everything but it); a NotAction gains it.
 * Another wildcard that covers it (`secretsmanager:*`, `secretsmanager:Get*`) cannot lose it.
 */
export function actionsWithout(statement: PolicyStatement, action: string): Remainder {
  if (statement.NotAction !== undefined) {
    const values = [...listOf(statement.NotAction), action];
    return {
      kind: 'left',
      part: { NotAction: sameForm(statement.NotAction, values) },
      words: (label) => `add ${action} to the NotAction of ${label}`,
    };
  }
  const values = listOf(statement.Action);
  const covering = values.filter((pattern) => wildcardMatch(pattern, action, true));
  if (covering.includes('*')) {
    return {
      kind: 'left',
      part: { NotAction: sameForm(statement.Action, [action]) },
      words: (label) =>
        `replace the Action ${values.join(', ')} of ${label} by NotAction ${action} (every action but that one)`,
    };
  }
  const wildcards = covering.filter((pattern) => pattern.toLowerCase() !== action.toLowerCase());
  if (wildcards.length > 0) {
    return {
      kind: 'inexpressible',
      why: `its Action ${wildcards.join(', ')} also covers other actions, which stay allowed, and IAM cannot write "${wildcards[0]} but not ${action}"`,
    };
  }
  const left = values.filter((pattern) => !covering.includes(pattern));
  if (left.length === 0) return { kind: 'nothing' };
  return {
    kind: 'left',
    part: { Action: sameForm(statement.Action, left) },
    words: (label) =>
      `remove ${action} from the Action of ${label} (${left.join(', ')} ${left.length === 1 ? 'stays' : 'stay'})`,
  };
}

/**
 * The statement's resources without `arn` (which it must cover). An explicit list loses the ARN;
 * `*` becomes NotResource [arn] (everything but it); a NotResource gains it. A pattern other than
 * `*` that covers it (`prod/*`, a policy variable) cannot lose it: a NotResource there would open
 * every resource outside the pattern, and IAM has no condition key holding a secret's ARN.
 */
export function resourcesWithout(statement: PolicyStatement, arn: string): Remainder {
  if (statement.NotResource !== undefined) {
    const values = [...listOf(statement.NotResource), arn];
    return {
      kind: 'left',
      part: { NotResource: sameForm(statement.NotResource, values) },
      words: (label) => `add "${arn}" to the NotResource of ${label}`,
    };
  }
  if (statement.Resource === undefined) {
    return { kind: 'inexpressible', why: 'it has no Resource' };
  }
  const values = listOf(statement.Resource);
  const covering = values.filter((pattern) => wildcardMatch(widenVariables(pattern), arn));
  if (covering.includes('*')) {
    return {
      kind: 'left',
      part: { NotResource: sameForm(statement.Resource, [arn]) },
      words: (label) =>
        `replace the Resource ${values.join(', ')} of ${label} by NotResource "${arn}" (every resource but that one)`,
    };
  }
  const patterns = covering.filter((pattern) => pattern !== arn);
  if (patterns.length > 0) {
    return {
      kind: 'inexpressible',
      why: `its Resource ${patterns.join(', ')} also covers other secrets, which stay readable, and IAM cannot write "${patterns[0]} but not this secret" (a NotResource would open every secret outside the pattern)`,
    };
  }
  const left = values.filter((pattern) => pattern !== arn);
  if (left.length === 0) return { kind: 'nothing' };
  return {
    kind: 'left',
    part: { Resource: sameForm(statement.Resource, left) },
    words: (label) => `remove "${arn}" from the Resource of ${label}`,
  };
}

/**
 * The statement with the fields in `drop` replaced by `fields`, written where the first dropped
 * field was, so the rewritten statement reads in the author's order.
 */
export function replaceFields(
  statement: PolicyStatement,
  drop: readonly (keyof PolicyStatement)[],
  fields: Partial<PolicyStatement>,
): PolicyStatement {
  const result: Record<string, unknown> = {};
  let placed = false;
  for (const [key, value] of Object.entries(statement)) {
    if (drop.includes(key as keyof PolicyStatement)) {
      if (!placed) Object.assign(result, fields);
      placed = true;
      continue;
    }
    result[key] = value;
  }
  if (!placed) Object.assign(result, fields);
  return result as unknown as PolicyStatement;
}

/**
 * A Sid for a statement a revoke adds next to one with Sid `base`: `base` + `suffix`, with a number
 * when that is taken. IAM wants Sids unique within a policy. No Sid when the original had none.
 */
export function derivedSid(
  base: string | undefined,
  suffix: string,
  taken: ReadonlySet<string>,
): string | undefined {
  if (base === undefined) return undefined;
  let sid = `${base}${suffix}`;
  for (let n = 2; taken.has(sid); n++) sid = `${base}${suffix}${n}`;
  return sid;
}
