import type { AccessReviewConfig } from './config';
import { ConfigError } from './errors';
import {
  CONNECTOR_NAMES,
  type ConnectorName,
  GRANT_KINDS,
  type Grant,
  type GrantKind,
  repositoryOfResource,
} from './grant';

/**
 * What an ad-hoc campaign reviews. Each term names a slice of the snapshot; several terms are a
 * union (a grant is in scope when any term takes it). No term at all is everything: the quarterly
 * run, and every campaign recorded before scopes existed.
 *
 *   repo:<org>/<name>     grants on the repository and on what lives in it (its environments,
 *                         branches, rulesets, environment secrets, deploy keys, invitations), and
 *                         the repository's own access: org secrets, variables and runner groups
 *                         selected for it, and the AWS roles whose OIDC trust admits its workflows
 *   team:<org>/<slug>     the team's memberships, the team's own grants (repository access,
 *                         deployment approval, bypass lists) and the repository access its members
 *                         have through it
 *   user:<login>          grants whose principal or holder is the person, and the IAM users and
 *                         roles `people[].aws` lists for them
 *   connector:<name>      every grant of one connector (github, aws)
 *   kind:<grant kind>     every grant of one kind (deploy_key, secret_read…)
 */
export type ScopeTerm =
  | { type: 'repo'; organization: string; name: string }
  | { type: 'team'; organization: string; slug: string }
  | { type: 'user'; login: string }
  | { type: 'connector'; connector: ConnectorName }
  | { type: 'kind'; grantKind: GrantKind };

export type ScopeTermType = ScopeTerm['type'];

export const SCOPE_TERM_TYPES: readonly ScopeTermType[] = ['repo', 'team', 'user', 'connector', 'kind'];

/** A parsed scope: its terms in the order given, without repeats. Empty: everything. */
export interface Scope {
  readonly terms: readonly ScopeTerm[];
}

export const WHOLE_SCOPE: Scope = { terms: [] };

/** Scope terms that cannot be used; `problems` names every bad term and why. */
export class ScopeError extends ConfigError {
  constructor(problems: string[], options?: { cause?: unknown }) {
    super('invalid scope', problems, options);
  }
}

/** GitHub's rules: logins and organisations are alphanumerics and single hyphens, at most 39. */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
/** A bot's login (`dependabot[bot]`): the app's slug and `[bot]`. */
const BOT_LOGIN = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\[bot\]$/;
/** Repository names: letters, digits, `.`, `_`, `-`, at most 100 (GitHub refuses `.` and `..`). */
const REPOSITORY = /^[A-Za-z0-9._-]{1,100}$/;
/** Team slugs: what GitHub derives from a team's name (lower-case letters, digits, `-`, `_`). */
const TEAM_SLUG = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

/** A term longer than this is refused before it is looked at (a scope travels in Step Functions' input). */
const MAX_TERM_LENGTH = 200;
/** More terms than this is a list of everything by another name; the input stays small. */
export const MAX_SCOPE_TERMS = 50;

function quote(term: string): string {
  const shown = term.length > 60 ? `${term.slice(0, 60)}…` : term;
  return JSON.stringify(shown);
}

/** `org/name` checked against GitHub's naming rules; the problem in words when it does not fit. */
function ownerAndName(
  value: string,
  nameRule: RegExp,
  what: 'repository' | 'team slug',
): { organization: string; name: string } | string {
  const parts = value.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1])
    return `expected <org>/<${what === 'repository' ? 'name' : 'slug'}>`;
  const [organization, name] = parts as [string, string];
  if (!LOGIN.test(organization)) return `"${organization}" is not a GitHub organization name`;
  if (!nameRule.test(name) || name === '.' || name === '..') return `"${name}" is not a ${what}`;
  return { organization, name };
}

function parseTerm(raw: string): ScopeTerm | string {
  const term = raw.trim();
  if (term === '') return 'empty term';
  if (term.length > MAX_TERM_LENGTH) return `longer than ${MAX_TERM_LENGTH} characters`;
  const colon = term.indexOf(':');
  if (colon < 0) {
    return `no prefix: expected one of ${SCOPE_TERM_TYPES.map((type) => `${type}:`).join(', ')}`;
  }
  const prefix = term.slice(0, colon);
  const value = term.slice(colon + 1);
  switch (prefix) {
    case 'repo': {
      const parsed = ownerAndName(value, REPOSITORY, 'repository');
      return typeof parsed === 'string'
        ? `repo: ${parsed}`
        : { type: 'repo', organization: parsed.organization, name: parsed.name };
    }
    case 'team': {
      const parsed = ownerAndName(value, TEAM_SLUG, 'team slug');
      return typeof parsed === 'string'
        ? `team: ${parsed}`
        : { type: 'team', organization: parsed.organization, slug: parsed.name };
    }
    case 'user':
      return LOGIN.test(value) || BOT_LOGIN.test(value)
        ? { type: 'user', login: value }
        : `user: "${value}" is not a GitHub login`;
    case 'connector':
      return (CONNECTOR_NAMES as readonly string[]).includes(value)
        ? { type: 'connector', connector: value as ConnectorName }
        : `connector: unknown connector "${value}" (known: ${CONNECTOR_NAMES.join(', ')})`;
    case 'kind':
      return (GRANT_KINDS as readonly string[]).includes(value)
        ? { type: 'kind', grantKind: value as GrantKind }
        : `kind: unknown grant kind "${value}" (known: ${GRANT_KINDS.join(', ')})`;
    default:
      return `unknown prefix "${prefix}:" (expected one of ${SCOPE_TERM_TYPES.map((type) => `${type}:`).join(', ')})`;
  }
}

/** `repo:acme/api`: the one spelling of a term (what is stored and shown). */
export function formatScopeTerm(term: ScopeTerm): string {
  switch (term.type) {
    case 'repo':
      return `repo:${term.organization}/${term.name}`;
    case 'team':
      return `team:${term.organization}/${term.slug}`;
    case 'user':
      return `user:${term.login}`;
    case 'connector':
      return `connector:${term.connector}`;
    case 'kind':
      return `kind:${term.grantKind}`;
  }
}

export function formatScope(scope: Scope): string[] {
  return scope.terms.map(formatScopeTerm);
}

/** GitHub names compare without case; two spellings of one repository are one term. */
function termKey(term: ScopeTerm): string {
  return formatScopeTerm(term).toLowerCase();
}

/**
 * Parses scope terms (`repo:acme/api`, `user:carol` …). Every bad term is named in one ScopeError,
 * so whoever typed them fixes them all at once. Repeats (GitHub names compared without case) are
 * kept once, in the order first given.
 */
export function parseScope(terms: readonly string[]): Scope {
  const problems: string[] = [];
  if (terms.length > MAX_SCOPE_TERMS) problems.push(`${terms.length} terms: at most ${MAX_SCOPE_TERMS}`);
  const parsed: ScopeTerm[] = [];
  const seen = new Set<string>();
  terms.forEach((raw, index) => {
    if (typeof raw !== 'string') {
      problems.push(`term ${index + 1}: not a string`);
      return;
    }
    const term = parseTerm(raw);
    if (typeof term === 'string') {
      problems.push(`${quote(raw.trim())}: ${term}`);
      return;
    }
    const key = termKey(term);
    if (seen.has(key)) return;
    seen.add(key);
    parsed.push(term);
  });
  if (problems.length > 0) throw new ScopeError(problems);
  return { terms: parsed };
}

export function isWholeScope(scope: Scope): boolean {
  return scope.terms.length === 0;
}

/** `repo:acme/api, user:carol`, or `everything` for the whole scope: what a person reads. */
export function describeScope(scope: Scope): string {
  return isWholeScope(scope) ? 'everything' : formatScope(scope).join(', ');
}

/**
 * What a configured deployment cannot have in scope: a repository or team of another organisation,
 * a connector that is not configured, a kind only such a connector reports. Each is a campaign
 * that would review nothing, refused before it starts rather than recorded as an empty review.
 */
export function scopeProblems(scope: Scope, config: AccessReviewConfig): string[] {
  const organization = config.github.organization.toLowerCase();
  const configured = configuredConnectors(config);
  const problems: string[] = [];
  for (const term of scope.terms) {
    const shown = formatScopeTerm(term);
    if ((term.type === 'repo' || term.type === 'team') && term.organization.toLowerCase() !== organization) {
      problems.push(
        `${shown}: not in organization ${config.github.organization}, the one this deployment reviews`,
      );
    }
    if (term.type === 'connector' && !configured.includes(term.connector)) {
      problems.push(`${shown}: connector ${term.connector} is not configured`);
    }
    if (term.type === 'kind' && !configured.includes(connectorOfKind(term.grantKind))) {
      problems.push(
        `${shown}: only connector ${connectorOfKind(term.grantKind)} reports it, and it is not configured`,
      );
    }
  }
  return problems;
}

function configuredConnectors(config: AccessReviewConfig): ConnectorName[] {
  return config.aws ? ['aws', 'github'] : ['github'];
}

const AWS_KINDS: ReadonlySet<GrantKind> = new Set(['secret_read', 'oidc_role_trust']);

/** The connector that reports grants of a kind. */
export function connectorOfKind(kind: GrantKind): ConnectorName {
  return AWS_KINDS.has(kind) ? 'aws' : 'github';
}

/**
 * The connectors whose grants a scope can take. GitHub is always read when configured, whatever the
 * scope: who can push to which repository decides who may review an AWS role GitHub workflows
 * assume (routing's "nobody reviews access they hold"). AWS is read only when a term can take one of
 * its grants: a team's grants are all GitHub's, so a team-scoped campaign costs AWS nothing.
 */
export function connectorsToRead(
  scope: Scope,
  configured: readonly ConnectorName[],
  config?: Pick<AccessReviewConfig, 'people'>,
): ConnectorName[] {
  if (isWholeScope(scope)) return [...configured];
  const wanted = new Set<ConnectorName>(['github']);
  for (const term of scope.terms) {
    if (term.type === 'connector') wanted.add(term.connector);
    if (term.type === 'kind') wanted.add(connectorOfKind(term.grantKind));
    // A repository's workflows may assume AWS roles (OIDC trust); those grants are its too.
    if (term.type === 'repo') wanted.add('aws');
    if (term.type === 'user' && awsPrincipalsOf(term.login, config).length > 0) wanted.add('aws');
  }
  return configured.filter((name) => wanted.has(name));
}

function awsPrincipalsOf(login: string, config: Pick<AccessReviewConfig, 'people'> | undefined): string[] {
  const person = config?.people.find((p) => p.github.toLowerCase() === login.toLowerCase());
  return person?.aws ?? [];
}

/** IAM names are unique per account whatever their case and path: `<account>:user/<name>`. */
function iamKey(arn: string): string | undefined {
  const [prefix, , service, , account, ...rest] = arn.split(':');
  if (prefix !== 'arn' || !account || !/^\d{12}$/.test(account)) return undefined;
  const [type, ...segments] = rest.join(':').split('/');
  if (service === 'sts' && type === 'assumed-role' && segments.length === 2) {
    return `${account}:role/${(segments[0] ?? '').toLowerCase()}`;
  }
  const name = segments.at(-1);
  if (service !== 'iam' || (type !== 'user' && type !== 'role') || !name) return undefined;
  return `${account}:${type}/${name.toLowerCase()}`;
}

/** IAM StringLike: `*` any run, `?` one character; GitHub names compare without case. */
function globMatches(glob: string, value: string): boolean {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i').test(value);
}

/** The repository part of a GitHub OIDC subject (`repo:acme/api:environment:production` → `acme/api`); `*` alone covers all. */
function subjectCoversRepository(subject: string, repository: string): boolean {
  if (subject === '*') return true;
  const part = /^repo:([^:]+)/.exec(subject)?.[1];
  return part !== undefined && globMatches(part, repository);
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function repoTakes(grant: Grant, repository: string): boolean {
  if (grant.connector === 'aws') {
    return grant.principalType === 'oidc_subject' && subjectCoversRepository(grant.principal, repository);
  }
  const on = repositoryOfResource(grant);
  if (on !== undefined && same(on, repository)) return true;
  // The repository's own access: an org secret, variable or runner group selected for it.
  if (grant.principalType === 'repository' && same(grant.principal, repository)) return true;
  // An environment's access (its secrets), and anything held by one of its environments.
  if (grant.principalType === 'environment') {
    const cut = grant.principal.indexOf(':');
    return cut > 0 && same(grant.principal.slice(0, cut), repository);
  }
  return false;
}

function teamTakes(grant: Grant, team: string): boolean {
  if (grant.connector !== 'github') return false;
  if (grant.resourceType === 'team' && same(grant.resource, team)) return true;
  if (grant.principalType === 'team' && same(grant.principal, team)) return true;
  return grant.via.kind === 'team' && same(grant.via.team, team);
}

function userTakes(grant: Grant, login: string, awsKeys: ReadonlySet<string>): boolean {
  if (grant.holder !== undefined && same(grant.holder, login)) return true;
  if (grant.connector === 'github') {
    return (
      (grant.principalType === 'user' || grant.principalType === 'invitee') && same(grant.principal, login)
    );
  }
  if (grant.principalType !== 'iam_user' && grant.principalType !== 'iam_role') return false;
  const key = iamKey(grant.principal);
  return key !== undefined && awsKeys.has(key);
}

/** Whether one term takes the grant. */
function termTakes(
  term: ScopeTerm,
  grant: Grant,
  config: Pick<AccessReviewConfig, 'people'> | undefined,
): boolean {
  switch (term.type) {
    case 'repo':
      return repoTakes(grant, `${term.organization}/${term.name}`);
    case 'team':
      return teamTakes(grant, `${term.organization}/${term.slug}`);
    case 'user': {
      const keys = new Set(
        awsPrincipalsOf(term.login, config).flatMap((arn) => {
          const key = iamKey(arn);
          return key ? [key] : [];
        }),
      );
      return userTakes(grant, term.login, keys);
    }
    case 'connector':
      return grant.connector === term.connector;
    case 'kind':
      return grant.grantKind === term.grantKind;
  }
}

/**
 * Whether the grant is in scope: the whole scope takes everything, otherwise any term that takes it
 * (a union). `config` lets `user:` terms take the IAM principals `people[].aws` lists for the person.
 */
export function grantInScope(
  grant: Grant,
  scope: Scope,
  config?: Pick<AccessReviewConfig, 'people'>,
): boolean {
  return isWholeScope(scope) || scope.terms.some((term) => termTakes(term, grant, config));
}

/**
 * The same test built once for many grants (a snapshot's worth): `user:` terms' IAM keys are
 * worked out once, not per grant.
 */
export function scopeMatcher(
  scope: Scope,
  config?: Pick<AccessReviewConfig, 'people'>,
): (grant: Grant) => boolean {
  if (isWholeScope(scope)) return () => true;
  const userKeys = new Map<string, Set<string>>();
  for (const term of scope.terms) {
    if (term.type !== 'user') continue;
    userKeys.set(
      term.login,
      new Set(
        awsPrincipalsOf(term.login, config).flatMap((arn) => {
          const key = iamKey(arn);
          return key ? [key] : [];
        }),
      ),
    );
  }
  return (grant) =>
    scope.terms.some((term) =>
      term.type === 'user'
        ? userTakes(grant, term.login, userKeys.get(term.login) ?? new Set())
        : termTakes(term, grant, config),
    );
}
