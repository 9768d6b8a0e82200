import { GetRoleCommand, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { accountOfArn, type Grant } from '../../core/grant';
import type { CheckResult } from '../connector';
import { callAws, callAwsOrNotFound } from './clients';
import { type AwsContext, isoNow, type PreparedRevoke } from './context';
import { AwsGrantError } from './errors';
import { ASSUME_WEB_IDENTITY_ACTION, trustAdmits } from './evaluate';
import { isOidcStatement, oidcTrusts } from './oidc-roles';
import {
  decodeIamDocument,
  nameOfArn,
  type PolicyDocument,
  type PolicyStatement,
  parsePolicy,
  policyChange,
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
 * statement admits; a statement whose sub condition loses its last value is removed, never kept
 * without it: with no sub condition it would admit every subject, and with another sub condition
 * left (IAM ANDs condition operators, so `StringLike repo:acme/*` and `StringEquals
 * repo:acme/api:ref:refs/heads/main` admit only the second) it would admit what that one admits
 * alone. For `*` (a statement with no sub condition), those statements are removed. If no
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
    if (subConditions === 0 && subject === '*') {
      edits.push(`removed ${label}: it had no sub condition, so it admitted every subject`);
      return;
    }
    if (!removed) {
      kept.push(statement);
      return;
    }
    if (emptied !== undefined) {
      edits.push(
        subConditions > 1
          ? `removed ${label}: ${subject} was the only value of its ${emptied} sub condition, and IAM requires all ${subConditions} of its sub conditions to match, so keeping the others would admit subjects it did not`
          : `removed ${label}: ${subject} was its only subject`,
      );
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
