import {
  DeleteResourcePolicyCommand,
  GetResourcePolicyCommand,
  PutResourcePolicyCommand,
} from '@aws-sdk/client-secrets-manager';
import type { Grant } from '../../core/grant';
import { callAws, callAwsOrNotFound, type RoleKind } from './clients';
import { type AwsContext, isoNow, type PreparedRevoke } from './context';
import { READ_ACTION, resourcePolicyWhere } from './evaluate';
import { secretTarget } from './inventory';
import {
  accountOfPrincipal,
  isAccountPrincipal,
  listOf,
  type PolicyDocument,
  type PolicyStatement,
  parsePolicy,
  policyChange,
  principalsOf,
  serializePolicy,
  statementAllows,
  statementLabel,
  statementsOf,
  withStatements,
} from './policy-documents';

/** The principal a resource-policy revoke removes, as a grant names it. */
export interface PolicyPrincipal {
  type: Grant['principalType'];
  /** An ARN, an account root ARN, a service name, or `*`. */
  value: string;
}

export interface PrincipalRemoval {
  /** The policy to write: unchanged when nothing named the principal; null when no statement is left. */
  after: PolicyDocument | null;
  /** Labels of the statements the principal was removed from. */
  edited: string[];
  /** Labels of the statements dropped because the principal was their only one. */
  dropped: string[];
  /** Why the principal's access through the policy cannot be removed without touching others. */
  blockers: string[];
}

/** Whether one value of a statement's `Principal.AWS` (or `Service`) is the principal itself. */
function isPrincipalValue(value: string, principal: PolicyPrincipal): boolean {
  if (value === principal.value) return true;
  if (principal.type === 'aws_account') {
    return isAccountPrincipal(value) && accountOfPrincipal(value) === accountOfPrincipal(principal.value);
  }
  if (principal.type === 'iam_role') {
    // A role's sessions (arn:aws:sts::1:assumed-role/<role>/<session>) are the role acting.
    const [, partition, , , account, resource] = principal.value.split(':');
    const name = resource?.split('/').pop();
    return name !== undefined && value.startsWith(`arn:${partition}:sts::${account}:assumed-role/${name}/`);
  }
  return false;
}

/** Keeps the form the author wrote: a list stays a list, a single value a string. */
function remaining(original: string | string[] | undefined, left: string[]): string | string[] | undefined {
  if (left.length === 0) return undefined;
  return Array.isArray(original) ? left : left[0];
}

/**
 * The secret's resource policy without `principal` in the statements that let it read the secret:
 * it is removed from each Principal list, a statement left with no principal is dropped, and
 * everything else (other principals, other statements, Deny statements, conditions) stays as
 * written. Access the principal has only because a statement names everyone (`*`, NotPrincipal)
 * or its whole account cannot be removed without cutting others: that is a blocker, for a person.
 */
export function removePrincipal(
  policy: PolicyDocument,
  secret: { arn: string; name: string },
  principal: PolicyPrincipal,
): PrincipalRemoval {
  const where = resourcePolicyWhere(secret);
  const edited: string[] = [];
  const dropped: string[] = [];
  const blockers: string[] = [];
  const kept: PolicyStatement[] = [];
  statementsOf(policy).forEach((statement, position) => {
    const label = statementLabel(statement, position + 1, where);
    if (!statementAllows(statement, READ_ACTION, secret.arn)) {
      kept.push(statement);
      return;
    }
    if (statement.NotPrincipal !== undefined) {
      blockers.push(`${label} allows every principal except those in its NotPrincipal`);
      kept.push(statement);
      return;
    }
    const named = principalsOf(statement.Principal);
    // "*" in a Principal block covers AWS principals; only the bare "Principal": "*" covers services too.
    const coversEveryone = principal.type === 'aws_service' ? statement.Principal === '*' : named.anyone;
    if (coversEveryone) {
      blockers.push(
        `${label} allows every principal ("*")${statement.Condition ? ' under its conditions' : ''}: removing "*" would change access for everyone it serves`,
      );
    }
    if (principal.type === 'aws_anyone') {
      kept.push(statement);
      return;
    }
    const block = statement.Principal;
    if (block === undefined || block === '*') {
      kept.push(statement);
      return;
    }
    const field = principal.type === 'aws_service' ? 'Service' : 'AWS';
    const values = listOf(block[field]);
    const left = values.filter((value) => !isPrincipalValue(value, principal));
    // The principal's whole account named too (cross-account): it keeps reading through that.
    const account = accountOfPrincipal(principal.value);
    if (
      field === 'AWS' &&
      principal.type !== 'aws_account' &&
      left.some((value) => isAccountPrincipal(value) && accountOfPrincipal(value) === account)
    ) {
      blockers.push(
        `${label} names the whole account ${account}, not only ${principal.value}: removing the account would cut every principal of it that its own policies let read`,
      );
    }
    if (left.length === values.length) {
      kept.push(statement);
      return;
    }
    const nextBlock = { ...block, [field]: remaining(block[field], left) };
    if (nextBlock[field] === undefined) delete nextBlock[field];
    if (Object.keys(nextBlock).length === 0) {
      dropped.push(label);
      return;
    }
    edited.push(label);
    kept.push({ ...statement, Principal: nextBlock });
  });
  if (edited.length === 0 && dropped.length === 0) return { after: policy, edited, dropped, blockers };
  return { after: kept.length === 0 ? null : withStatements(policy, kept), edited, dropped, blockers };
}

async function readResourcePolicy(
  context: AwsContext,
  accountId: string,
  region: string,
  secretArn: string,
  kind: RoleKind,
): Promise<string | null | 'not_found'> {
  const secrets = context.clients.secrets(accountId, region, kind);
  const answer = await callAwsOrNotFound(secrets, 'secretsmanager:GetResourcePolicy', secretArn, () =>
    secrets.client.send(new GetResourcePolicyCommand({ SecretId: secretArn })),
  );
  if (answer === 'not_found') return answer;
  return answer.ResourcePolicy ?? null;
}

/**
 * Removes the principal from the secret's resource policy: GetResourcePolicy, then
 * PutResourcePolicy with the edited document, or DeleteResourcePolicy when no statement is left.
 * `*`, NotPrincipal and whole-account statements are remediation items (see removePrincipal).
 * Nothing is written here: `apply` writes (revoke), `changes` are what it would write (plan).
 */
export async function prepareResourcePolicyRevoke(
  context: AwsContext,
  grant: Grant,
): Promise<PreparedRevoke> {
  const { accountId, region, secretArn, secretName } = secretTarget(grant);
  const revokeRole = context.clients.roleArn(accountId, 'revoke');
  const text = await readResourcePolicy(
    context,
    accountId,
    region,
    secretArn,
    revokeRole ? 'revoke' : 'read',
  );
  const appliedAt = isoNow(context);
  if (text === 'not_found') {
    return {
      result: {
        outcome: 'already_absent',
        appliedAt,
        action: `GetResourcePolicy ${secretArn}: the secret no longer exists`,
      },
    };
  }
  if (text === null) {
    return {
      result: {
        outcome: 'already_absent',
        appliedAt,
        action: `GetResourcePolicy ${secretArn}: the secret has no resource policy; nothing to remove`,
      },
    };
  }
  const before = parsePolicy(text, resourcePolicyWhere({ name: secretName }));
  const removal = removePrincipal(
    before,
    { arn: secretArn, name: secretName },
    { type: grant.principalType, value: grant.principal },
  );
  const changed = removal.edited.length > 0 || removal.dropped.length > 0;
  if (!changed && removal.blockers.length > 0) {
    return {
      result: {
        outcome: 'remediation_required',
        appliedAt,
        action: `GetResourcePolicy ${secretArn}: ${grant.principal} reads through statements that cannot be narrowed to it alone; nothing was changed`,
        remediation: `In account ${accountId} (${region}), the resource policy of secret ${secretName}: ${removal.blockers.join('; ')}. Replace them with statements naming only the principals that need to read ${secretName}, then ${grant.principal} is checked again.`,
      },
    };
  }
  if (!changed) {
    return {
      result: {
        outcome: 'already_absent',
        appliedAt,
        action: `GetResourcePolicy ${secretArn}: no statement allowing the read names ${grant.principal}; nothing to remove`,
      },
    };
  }
  const after = removal.after ? serializePolicy(removal.after) : null;
  const edits = [
    ...removal.edited.map((label) => `removed ${grant.principal} from ${label}`),
    ...removal.dropped.map((label) => `dropped ${label} (${grant.principal} was its only principal)`),
  ];
  const still =
    removal.blockers.length > 0 ? ` (still readable through: ${removal.blockers.join('; ')})` : '';
  if (!revokeRole) {
    return {
      result: {
        outcome: 'remediation_required',
        appliedAt,
        action: `no revokeRoleArn is configured for account ${accountId}: the resource policy of ${secretArn} was not changed`,
        remediation:
          after === null
            ? `In account ${accountId} (${region}), delete the resource policy of secret ${secretName} (${edits.join('; ')}).`
            : `In account ${accountId} (${region}), put this resource policy on secret ${secretName} (${edits.join('; ')}): ${after}`,
      },
    };
  }
  const changes = [policyChange(`${secretArn} resource policy`, text, after)];
  return {
    changes,
    apply: async () => {
      const secrets = context.clients.secrets(accountId, region, 'revoke');
      if (after === null) {
        await callAws(secrets, 'secretsmanager:DeleteResourcePolicy', secretArn, () =>
          secrets.client.send(new DeleteResourcePolicyCommand({ SecretId: secretArn })),
        );
      } else {
        await callAws(secrets, 'secretsmanager:PutResourcePolicy', secretArn, () =>
          secrets.client.send(new PutResourcePolicyCommand({ SecretId: secretArn, ResourcePolicy: after })),
        );
      }
      return {
        outcome: 'removed',
        appliedAt,
        action: `${after === null ? 'DeleteResourcePolicy' : 'PutResourcePolicy'} ${secretArn}: ${edits.join('; ')}${still}`,
        policyChanges: changes,
      };
    },
  };
}
