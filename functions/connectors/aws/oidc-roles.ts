import { type Grant, type GrantFlag, makeGrant } from '../../core/grant';
import { ASSUME_WEB_IDENTITY_ACTION } from './evaluate';
import type { AccountInfo, IamPrincipal } from './inventory';
import {
  listOf,
  type PolicyDocument,
  type PolicyStatement,
  principalsOf,
  statementCoversAction,
  statementLabel,
  statementsOf,
  wildcardMatch,
} from './policy-documents';

/**
 * GitHub Actions deploy roles: roles whose trust policy lets GitHub's OIDC provider assume them
 * (sts:AssumeRoleWithWebIdentity). Each `sub` pattern a role admits is a grant: a workflow whose
 * token subject matches can act as the role.
 */

/** Condition operators that admit subjects (with ForAnyValue:/ForAllValues: and …IfExists variants). */
const POSITIVE = /^(ForAnyValue:|ForAllValues:)?(StringEquals|StringLike|StringEqualsIgnoreCase)(IfExists)?$/;
const NEGATIVE =
  /^(ForAnyValue:|ForAllValues:)?(StringNotEquals|StringNotLike|StringNotEqualsIgnoreCase)(IfExists)?$/;

/** One statement's view of the GitHub provider: the subjects and audiences it admits. */
export interface OidcStatement {
  index: number;
  label: string;
  /**
   * Subject patterns it admits; `*` when it has no positive sub condition (any subject). With
   * several positive sub conditions (IAM ANDs condition operators), only the written values that
   * satisfy all of them, or when none does, the most specific pattern (see admittedSubjects); []
   * when the conditions admit no subject at all.
   */
  subjects: string[];
  /** No positive sub condition at all: any token from the provider matches. */
  noSubCondition: boolean;
  /** Subject patterns it excludes (StringNotEquals / StringNotLike on sub). */
  excludedSubjects: string[];
  audiences: string[];
  /**
   * Conditions on other claims (job_workflow_ref, repository_owner…), as written; and, for a
   * statement with several positive sub conditions, each of them (a subject must match them all).
   */
  otherConditions: string[];
}

/** Whether a Federated principal is this account's GitHub OIDC provider. */
export function isProviderArn(value: string, accountId: string, provider: string): boolean {
  return new RegExp(`^arn:aws[a-z-]*:iam::${accountId}:oidc-provider/${escapeRegex(provider)}$`).test(value);
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** Whether the statement lets the provider assume the role (Allow, the action, the Federated principal). */
export function isOidcStatement(statement: PolicyStatement, accountId: string, provider: string): boolean {
  return (
    statement.Effect === 'Allow' &&
    statementCoversAction(statement, ASSUME_WEB_IDENTITY_ACTION) &&
    principalsOf(statement.Principal).federated.some((value) => isProviderArn(value, accountId, provider))
  );
}

function valuesOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return value === undefined || value === null ? [] : [String(value)];
}

/** Whether one positive sub condition holds for `subject` taken literally. */
function subConditionHolds(operator: string, values: readonly string[], subject: string): boolean {
  const base = operator.replace(/^(ForAnyValue:|ForAllValues:)/, '').replace(/IfExists$/, '');
  return values.some((value) =>
    base === 'StringLike'
      ? wildcardMatch(value, subject)
      : base === 'StringEqualsIgnoreCase'
        ? value.toLowerCase() === subject.toLowerCase()
        : value === subject,
  );
}

/** Characters of a pattern that are not wildcards: the more, the fewer subjects it matches. */
function fixedLength(value: string): number {
  return value.replace(/[*?]/g, '').length;
}

/**
 * The subjects a statement admits when IAM ANDs several positive sub conditions (`StringLike sub
 * repo:acme/*` and `StringEquals sub repo:acme/api:ref:refs/heads/main` admit only the second):
 * the written values that, taken literally, satisfy every condition. When none does but the
 * conditions are all patterns, their intersection may still be non-empty and has no written name:
 * the most specific pattern stands for it (the others are listed with the statement's other
 * conditions). When a condition is exact or wildcard-free, nothing outside its values can match,
 * and none of them matched all: the statement admits nothing.
 */
function admittedSubjects(conditions: readonly { operator: string; values: string[] }[]): string[] {
  if (conditions.length <= 1) return [...new Set(conditions.flatMap((condition) => condition.values))];
  const written = [...new Set(conditions.flatMap((condition) => condition.values))];
  const admitted = written.filter((subject) =>
    conditions.every((condition) => subConditionHolds(condition.operator, condition.values, subject)),
  );
  if (admitted.length > 0) return admitted;
  const bounded = conditions.some(
    (condition) =>
      !/StringLike/.test(condition.operator) || condition.values.every((value) => !/[*?]/.test(value)),
  );
  if (bounded) return [];
  const [mostSpecific] = [...written].sort((a, b) => fixedLength(b) - fixedLength(a));
  return mostSpecific === undefined ? [] : [mostSpecific];
}

/** The GitHub provider statements of a trust policy, with what each admits. */
export function oidcStatements(
  trust: PolicyDocument,
  role: Pick<IamPrincipal, 'arn' | 'accountId'>,
  provider: string,
): OidcStatement[] {
  const subKey = `${provider}:sub`.toLowerCase();
  const audKey = `${provider}:aud`.toLowerCase();
  const found: OidcStatement[] = [];
  statementsOf(trust).forEach((statement, position) => {
    if (!isOidcStatement(statement, role.accountId, provider)) return;
    const subConditions: { operator: string; values: string[]; text: string }[] = [];
    const excluded: string[] = [];
    const audiences: string[] = [];
    const other: string[] = [];
    for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
      for (const [key, value] of Object.entries(entries ?? {})) {
        const lower = key.toLowerCase();
        const text = `${key} ${operator} ${valuesOf(value).join(', ')}`;
        if (lower === subKey && POSITIVE.test(operator))
          subConditions.push({ operator, values: valuesOf(value), text });
        else if (lower === subKey && NEGATIVE.test(operator)) excluded.push(...valuesOf(value));
        else if (lower === audKey && POSITIVE.test(operator)) audiences.push(...valuesOf(value));
        else other.push(text);
      }
    }
    const index = position + 1;
    const noSubCondition = subConditions.length === 0;
    found.push({
      index,
      label: statementLabel(statement, index, `the trust policy of ${role.arn}`),
      subjects: noSubCondition ? ['*'] : admittedSubjects(subConditions),
      noSubCondition,
      excludedSubjects: excluded,
      audiences: [...new Set(audiences)],
      otherConditions: [
        ...(subConditions.length > 1
          ? subConditions.map((condition) => `${condition.text} (every sub condition must match)`)
          : []),
        ...other,
      ],
    });
  });
  return found;
}

/**
 * The repository part of a subject: `acme/api` of `repo:acme/api:ref:refs/heads/main`, `acme/*` of
 * `repo:acme/*`; a subject in another form (a customised claim) is its own repository part.
 */
export function repositoryPart(subject: string): string {
  if (subject === '*') return '*';
  const match = /(?:^|:)repo:([^:]*)/.exec(subject);
  return match ? (match[1] ?? '') : subject;
}

/** A subject that can match more than one repository: `*`, or a wildcard in the repository part. */
export function isWildcardSubject(subject: string): boolean {
  return subject === '*' || /[*?]/.test(repositoryPart(subject));
}

export interface OidcTrust {
  subject: string;
  statements: OidcStatement[];
  flags: GrantFlag[];
  audiences: string[];
}

/** Every subject a role's trust policy admits, merged across statements, with its risk flags. */
export function oidcTrusts(
  trust: PolicyDocument,
  role: Pick<IamPrincipal, 'arn' | 'accountId'>,
  provider: string,
): { trusts: OidcTrust[]; repositories: number } {
  const statements = oidcStatements(trust, role, provider);
  const bySubject = new Map<string, OidcStatement[]>();
  for (const statement of statements) {
    for (const subject of statement.subjects)
      bySubject.set(subject, [...(bySubject.get(subject) ?? []), statement]);
  }
  const repositories = new Set([...bySubject.keys()].map(repositoryPart));
  const many = repositories.size > 1 || [...repositories].some((part) => /[*?]/.test(part));
  const trusts = [...bySubject.entries()].map(([subject, admitting]) => {
    const flags: GrantFlag[] = [];
    if (isWildcardSubject(subject) || admitting.some((statement) => statement.noSubCondition)) {
      flags.push('wildcard_subject');
    }
    if (admitting.some((statement) => statement.audiences.length === 0)) flags.push('no_audience_condition');
    if (many) flags.push('trusted_by_many_repositories');
    return {
      subject,
      statements: admitting,
      flags,
      audiences: [...new Set(admitting.flatMap((statement) => statement.audiences))],
    };
  });
  return { trusts, repositories: repositories.size };
}

/** A role's read grant, as the derived grants need it. */
export interface RoleRead {
  grant: Grant;
  secretName: string;
}

/**
 * The oidc_role_trust grants of one role, and the derived grants of what each subject can read by
 * assuming it (one per subject and secret, following from the trust grant and the role's read
 * grants of that secret).
 */
export function oidcGrants(
  role: IamPrincipal,
  account: AccountInfo,
  provider: string,
  reads: readonly RoleRead[],
): Grant[] {
  if (!role.trustPolicy) return [];
  const { trusts, repositories } = oidcTrusts(role.trustPolicy, role, provider);
  const readableSecrets = [...new Set(reads.map((read) => read.secretName))].sort();
  const grants: Grant[] = [];
  for (const trust of trusts) {
    const trustGrant = makeGrant(
      {
        connector: 'aws',
        grantKind: 'oidc_role_trust',
        resourceType: 'iam_role',
        resource: role.arn,
        principalType: 'oidc_subject',
        principal: trust.subject,
        entitlement: 'assume',
        via: { kind: 'trust_policy' },
      },
      {
        raw: {
          roleName: role.name,
          accountId: account.accountId,
          ...(account.name ? { accountName: account.name } : {}),
          audiences: trust.audiences,
          repositories,
          readableSecrets,
          statements: trust.statements.map((statement) => statement.label),
          ...(trust.statements.some((statement) => statement.excludedSubjects.length > 0)
            ? { excludedSubjects: trust.statements.flatMap((statement) => statement.excludedSubjects) }
            : {}),
          ...(trust.statements.some((statement) => statement.otherConditions.length > 0)
            ? { otherConditions: trust.statements.flatMap((statement) => statement.otherConditions) }
            : {}),
        },
        flags: trust.flags,
      },
    );
    grants.push(trustGrant);
    const bySecret = new Map<string, RoleRead[]>();
    for (const read of reads)
      bySecret.set(read.grant.resource, [...(bySecret.get(read.grant.resource) ?? []), read]);
    for (const [secretArn, secretReads] of bySecret) {
      const first = secretReads[0];
      if (!first) continue;
      grants.push(
        makeGrant(
          {
            connector: 'aws',
            grantKind: 'secret_read',
            resourceType: 'aws_secret',
            resource: secretArn,
            principalType: 'oidc_subject',
            principal: trust.subject,
            entitlement: 'read',
            via: { kind: 'assumed_role', role: role.arn },
          },
          {
            reviewable: false,
            derivedFrom: [trustGrant.grantId, ...secretReads.map((read) => read.grant.grantId)],
            raw: {
              ...pick(first.grant.raw, [
                'secretName',
                'accountId',
                'accountName',
                'region',
                'kmsKey',
                'kmsKeyPolicy',
                'kmsSide',
                'lastAccessed',
              ]),
              roleName: role.name,
              statements: [
                ...new Set(
                  secretReads.flatMap((read) => listOf(read.grant.raw.statements as string[] | undefined)),
                ),
              ],
              kmsStatements: listOf(first.grant.raw.kmsStatements as string[] | undefined),
            },
            flags: trust.flags,
          },
        ),
      );
    }
  }
  return grants;
}

function pick(raw: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => raw[key] !== undefined).map((key) => [key, raw[key]]));
}
