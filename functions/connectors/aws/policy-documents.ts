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
