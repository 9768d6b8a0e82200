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
  /** Subject patterns it admits; `*` when it has no positive sub condition (any subject). */
  subjects: string[];
  /** No positive sub condition at all: any token from the provider matches. */
  noSubCondition: boolean;
  /** Subject patterns it excludes (StringNotEquals / StringNotLike on sub). */
  excludedSubjects: string[];
  audiences: string[];
  /** Conditions on other claims (job_workflow_ref, repository_owner…), as written. */
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
    const subjects: string[] = [];
    const excluded: string[] = [];
    const audiences: string[] = [];
    const other: string[] = [];
    for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
      for (const [key, value] of Object.entries(entries ?? {})) {
        const lower = key.toLowerCase();
        if (lower === subKey && POSITIVE.test(operator)) subjects.push(...valuesOf(value));
        else if (lower === subKey && NEGATIVE.test(operator)) excluded.push(...valuesOf(value));
        else if (lower === audKey && POSITIVE.test(operator)) audiences.push(...valuesOf(value));
        else other.push(`${key} ${operator} ${valuesOf(value).join(', ')}`);
      }
    }
    const index = position + 1;
    found.push({
      index,
      label: statementLabel(statement, index, `the trust policy of ${role.arn}`),
      subjects: subjects.length > 0 ? [...new Set(subjects)] : ['*'],
      noSubCondition: subjects.length === 0,
      excludedSubjects: excluded,
      audiences: [...new Set(audiences)],
      otherConditions: other,
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
