import { GetRoleCommand, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { accountOfArn, type Grant } from '../../core/grant';
import type { CheckResult } from '../connector';
import { callAws, callAwsOrNotFound } from './clients';
import { type AwsContext, isoNow, type PreparedRevoke } from './context';
import { AwsGrantError } from './errors';
import { ASSUME_WEB_IDENTITY_ACTION, trustAdmits } from './evaluate';
import { isOidcStatement, isProviderArn, oidcTrusts } from './oidc-roles';
import {
  decodeIamDocument,
  listOf,
  nameOfArn,
  type OneOrMany,
  type PolicyDocument,
  type PolicyStatement,
  type PrincipalBlock,
  parsePolicy,
  policyChange,
  principalsOf,
  replaceFields,
  serializePolicy,
  statementLabel,
  statementsOf,
  withStatements,
} from './policy-documents';

const POSITIVE = /^(ForAnyValue:|ForAllValues:)?(StringEquals|StringLike|StringEqualsIgnoreCase)(IfExists)?$/;

export interface TrustNarrowing {
  /** The document to write; undefined when nothing admitted the subject literally (nothing to change). */
  after?: PolicyDocument;
  /** What was done, statement by statement, in words. */
  edits: string[];
  /** True when every statement went and the document is the explicit Deny. */
  denyAll: boolean;
}

/** The statement a trust policy is left with when its last statement goes: an explicit Deny, never an empty policy. */
export function denyAllStatement(providerArn: string): PolicyStatement {
  return {
    Sid: 'AccessReviewRevokedEverySubject',
    Effect: 'Deny',
    Principal: { Federated: providerArn },
    Action: ASSUME_WEB_IDENTITY_ACTION,
  };
}

/**
 * The trust policy without `subject`: the pattern is removed from every positive sub condition of
 * the GitHub provider's statements, exactly as written (another pattern that happens to match it
 * stays; it is a grant of its own). Removing a value from a condition only narrows what the
 * statement admits (for GitHub tokens; other callers carry no GitHub sub, so it changes nothing
 * for them). A statement whose sub condition loses its last value never keeps the GitHub provider
 * without it: with no sub condition it would admit every subject, and with another sub condition
 * left (IAM ANDs condition operators, so `StringLike repo:acme/*` and `StringEquals
 * repo:acme/api:ref:refs/heads/main` admit only the second) it would admit what that one admits
 * alone. For `*`, the same goes for the statements with no sub condition. Such a statement loses
 * the GitHub provider from its Principal, with its conditions as written, when it also admits
 * others (another federated provider, an account, a service…): they keep what it gave them
 * (sts:AssumeRole for the account, say). It is removed when the provider was its only principal,
 * or when what is left names `"AWS": "*"`, which would still admit GitHub tokens. If no
 * statement remains, the policy becomes a single explicit Deny of sts:AssumeRoleWithWebIdentity,
 * because IAM refuses an empty trust policy and an empty one would say nothing about intent.
 */
export function narrowTrust(
  trust: PolicyDocument,
  role: { arn: string; accountId: string },
  provider: string,
  subject: string,
): TrustNarrowing {
  const subKey = `${provider}:sub`.toLowerCase();
  const edits: string[] = [];
  const kept: PolicyStatement[] = [];
  let providerArn: string | undefined;
  statementsOf(trust).forEach((statement, position) => {
    const label = statementLabel(statement, position + 1, `the trust policy of ${role.arn}`);
    if (!isOidcStatement(statement, role.accountId, provider)) {
      kept.push(statement);
      return;
    }
    providerArn ??= [statement.Principal]
      .flatMap((principal) => (principal && principal !== '*' ? [principal.Federated ?? []].flat() : []))
      .find((value) => value.endsWith(`:oidc-provider/${provider}`));
    let subConditions = 0;
    let removed = false;
    /** The operator of a sub condition the subject was the only value of. */
    let emptied: string | undefined;
    const condition: Record<string, Record<string, unknown>> = {};
    for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
      const remaining: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(entries ?? {})) {
        if (key.toLowerCase() !== subKey || !POSITIVE.test(operator)) {
          remaining[key] = value;
          continue;
        }
        subConditions++;
        const values = Array.isArray(value) ? value.map(String) : [String(value)];
        if (!values.includes(subject)) {
          remaining[key] = value;
          continue;
        }
        removed = true;
        const left = values.filter((item) => item !== subject);
        if (left.length > 0) remaining[key] = Array.isArray(value) ? left : left[0];
        else emptied ??= operator;
      }
      if (Object.keys(remaining).length > 0) condition[operator] = remaining;
    }
    /** Why the GitHub provider must leave the statement, when it must. */
    let why: string | undefined;
    if (subConditions === 0 && subject === '*') {
      why = 'it had no sub condition, so it admitted every subject';
    } else if (!removed) {
      kept.push(statement);
      return;
    } else if (emptied !== undefined) {
      why =
        subConditions > 1
          ? `${subject} was the only value of its ${emptied} sub condition, and IAM requires all ${subConditions} of its sub conditions to match, so keeping the others would admit subjects it did not`
          : `${subject} was its only subject`;
    }
    if (why !== undefined) {
      // Never keep the provider with fewer sub values than its conditions need: that would widen.
      // The statement's other principals (another provider, an account, a service) keep what it
      // gave them: only the GitHub provider leaves its Principal, the conditions stay as written
      // (they only ever narrow, and the provider is no longer there for them to admit).
      const others = withoutProvider(statement, role.accountId, provider);
      if (others === undefined) {
        edits.push(`removed ${label}: ${why}`);
        return;
      }
      if (others === 'still_admits') {
        edits.push(
          `removed ${label}: ${why}; its other principals include "*", which would still admit GitHub tokens without the provider, so the whole statement goes`,
        );
        return;
      }
      edits.push(
        `removed the GitHub provider from the Principal of ${label}, which still admits ${describePrincipal(others.Principal)}: ${why}`,
      );
      kept.push(others);
      return;
    }
    edits.push(`removed subject ${subject} from ${label}`);
    const { Condition: _dropped, ...rest } = statement;
    kept.push({ ...rest, Condition: condition });
  });
  if (edits.length === 0) return { edits, denyAll: false };
  if (kept.length === 0) {
    const partition = role.arn.split(':')[1] ?? 'aws';
    const arn = providerArn ?? `arn:${partition}:iam::${role.accountId}:oidc-provider/${provider}`;
    edits.push('no statement remained: the policy is now an explicit Deny of sts:AssumeRoleWithWebIdentity');
    return { after: withStatements(trust, [denyAllStatement(arn)]), edits, denyAll: true };
  }
  return { after: withStatements(trust, kept), edits, denyAll: false };
}

/**
 * The statement without the GitHub provider in its Principal (every spelling isProviderArn
 * accepts); undefined when no principal would be left; 'still_admits' when what is left could
 * still admit GitHub tokens (`"AWS": "*"`: iam-simulate lets it match the provider, and it is
 * taken so here, on the safe side), so taking the provider out would not remove the subject. The
 * statement then goes as a whole: that cuts what `*` gave others, but never leaves the subject.
 */
function withoutProvider(
  statement: PolicyStatement,
  accountId: string,
  provider: string,
): PolicyStatement | 'still_admits' | undefined {
  const block = statement.Principal;
  if (block === undefined || block === '*') return undefined;
  const federated = listOf(block.Federated);
  const left = federated.filter((value) => !isProviderArn(value, accountId, provider));
  const { Federated: _provider, ...rest } = block;
  const next: PrincipalBlock =
    left.length === 0
      ? rest
      : { ...block, Federated: Array.isArray(block.Federated) ? left : (left[0] ?? '') };
  if (Object.values(next).every((value) => listOf(value).length === 0)) return undefined;
  if (principalsOf(next).anyone) return 'still_admits';
  return replaceFields(statement, ['Principal'], { Principal: next });
}

function describePrincipal(principal: PolicyStatement['Principal']): string {
  if (principal === undefined || principal === '*') return 'every principal';
  return Object.entries(principal)
    .map(([kind, values]) => `${kind} ${listOf(values as OneOrMany).join(', ')}`)
    .join('; ');
}

function target(grant: Grant): { roleArn: string; roleName: string; accountId: string } {
  const accountId = accountOfArn(grant.resource);
  if (grant.resourceType !== 'iam_role' || !accountId || !/:role\//.test(grant.resource)) {
    throw new AwsGrantError(`grant ${grant.grantId}: "${grant.resource}" is not an IAM role ARN`);
  }
  return { roleArn: grant.resource, roleName: nameOfArn(grant.resource), accountId };
}

async function readTrust(
  context: AwsContext,
  accountId: string,
  roleName: string,
  roleArn: string,
  kind: 'read' | 'revoke',
): Promise<{ text: string; document: PolicyDocument } | 'not_found'> {
  const iam = context.clients.iam(accountId, kind);
  const answer = await callAwsOrNotFound(iam, 'iam:GetRole', roleArn, () =>
    iam.client.send(new GetRoleCommand({ RoleName: roleName })),
  );
  if (answer === 'not_found') return answer;
  const text = decodeIamDocument(answer.Role?.AssumeRolePolicyDocument ?? '');
  return { text, document: parsePolicy(text, `the trust policy of ${roleArn}`) };
}

/**
 * Narrows the role's trust policy so the grant's subject no longer matches: GetRole, then
 * UpdateAssumeRolePolicy with the narrowed document (both documents go into the evidence). Without
 * a revoke role, the same edit is computed from a read and handed to a person as a remediation.
 * Nothing is written here: `apply` writes (revoke), `changes` are what it would write (plan).
 */
export async function prepareTrustRevoke(context: AwsContext, grant: Grant): Promise<PreparedRevoke> {
  const { roleArn, roleName, accountId } = target(grant);
  const provider = context.config.githubOidcProvider;
  const revokeRole = context.clients.roleArn(accountId, 'revoke');
  const current = await readTrust(context, accountId, roleName, roleArn, revokeRole ? 'revoke' : 'read');
  if (current === 'not_found') {
    return {
      result: {
        outcome: 'already_absent',
        appliedAt: isoNow(context),
        action: `GetRole ${roleArn}: the role no longer exists; nothing to narrow`,
      },
    };
  }
  const narrowed = narrowTrust(current.document, { arn: roleArn, accountId }, provider, grant.principal);
  if (!narrowed.after) {
    return {
      result: {
        outcome: 'already_absent',
        appliedAt: isoNow(context),
        action: `GetRole ${roleArn}: its trust policy names subject ${grant.principal} in no statement; nothing to change`,
      },
    };
  }
  const after = serializePolicy(narrowed.after);
  if (!revokeRole) {
    return {
      result: {
        outcome: 'remediation_required',
        appliedAt: isoNow(context),
        action: `no revokeRoleArn is configured for account ${accountId}: the trust policy of ${roleArn} was not changed`,
        remediation: `In account ${accountId}, edit the trust policy of role ${roleName} (${roleArn}): ${narrowed.edits.join('; ')}. The resulting trust policy is: ${after}`,
      },
    };
  }
  const changes = [policyChange(`${roleArn} trust policy`, current.text, after)];
  return {
    changes,
    apply: async () => {
      const iam = context.clients.iam(accountId, 'revoke');
      await callAws(iam, 'iam:UpdateAssumeRolePolicy', roleArn, () =>
        iam.client.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: after })),
      );
      return {
        outcome: 'removed',
        appliedAt: isoNow(context),
        action: `UpdateAssumeRolePolicy ${roleArn}: ${narrowed.edits.join('; ')}`,
        policyChanges: changes,
      };
    },
  };
}

/**
 * GetRole again and evaluate: present while any statement still admits the subject (taken
 * literally, whatever audience the token carries), or still writes it as a subject the snapshot
 * would report (a pattern standing for the intersection of several sub conditions).
 */
export async function checkTrust(context: AwsContext, grant: Grant): Promise<CheckResult> {
  const { roleArn, roleName, accountId } = target(grant);
  const current = await readTrust(context, accountId, roleName, roleArn, 'read');
  const checkedAt = isoNow(context);
  if (current === 'not_found') return { status: 'absent', checkedAt };
  const role = { arn: roleArn, accountId };
  const provider = context.config.githubOidcProvider;
  const admitted =
    (await trustAdmits(current.document, role, provider, grant.principal, context.simulator)) ??
    oidcTrusts(current.document, role, provider)
      .trusts.find((trust) => trust.subject === grant.principal)
      ?.statements.map((statement) => statement.label);
  return admitted
    ? { status: 'present', checkedAt, paths: [{ via: 'trust_policy', permission: 'assume' }] }
    : { status: 'absent', checkedAt };
}
