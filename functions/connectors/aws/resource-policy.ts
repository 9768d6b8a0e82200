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
  actionsWithout,
  derivedSid,
  isAccountPrincipal,
  listOf,
  type PolicyDocument,
  type PolicyStatement,
  parsePolicy,
  policyChange,
  principalsOf,
  replaceFields,
  serializePolicy,
  sha256Hex,
  statementAllows,
  statementCoversAction,
  statementCoversResource,
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
  /** Labels of the statements the principal was removed from (their other principals stay). */
  edited: string[];
  /** Labels of the statements dropped because the principal was their only one and they granted only the read. */
  dropped: string[];
  /**
   * Labels of the statements whose actions cover the read through a wildcard other than `*`
   * (`secretsmanager:*`): they stay as written and a Deny of the read naming the principal is added.
   */
  denied: string[];
  /** Every change, in words, in the order of the statements. */
  edits: string[];
  /** True when the policy already denies the principal the read unconditionally: nothing to do. */
  alreadyDenied: boolean;
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

/** The Sid of the Deny a resource-policy revoke adds for one principal: letters and digits only. */
export function principalDenySid(principal: string): string {
  return `AccessReviewRevokedRead${sha256Hex(principal).slice(0, 12)}`;
}

/** The principal's Principal field in a resource policy: `Service` for a service, `AWS` otherwise. */
function fieldOf(principal: PolicyPrincipal): 'AWS' | 'Service' {
  return principal.type === 'aws_service' ? 'Service' : 'AWS';
}

/** Whether the statement is an unconditional Deny of the read naming exactly the principal. */
function deniesPrincipal(statement: PolicyStatement, secretArn: string, principal: PolicyPrincipal): boolean {
  if (
    statement.Effect !== 'Deny' ||
    statement.Condition !== undefined ||
    statement.NotPrincipal !== undefined
  )
    return false;
  if (!statementCoversAction(statement, READ_ACTION) || !statementCoversResource(statement, secretArn))
    return false;
  const block = statement.Principal;
  if (block === undefined || block === '*') return false;
  return listOf(block[fieldOf(principal)]).includes(principal.value);
}

/**
 * The secret's resource policy without the principal's read, and nothing else. For each statement
 * that lets the principal read the secret and names it:
 * - the principal is taken out of the statement's Principal (the other principals keep everything
 *   the statement gives them), and the statement is dropped when no principal is left;
 * - what the statement gave the principal besides the read stays: a copy naming only the principal
 *   with the statement's actions but GetSecretValue (an explicit Action list loses it, `*` becomes
 *   NotAction GetSecretValue, a NotAction gains it), its conditions, and a Sid of its own. When the
 *   principal was the statement's only principal, the statement itself becomes that copy (same Sid);
 * - when its actions cover the read through another wildcard (`secretsmanager:*`,
 *   `secretsmanager:Get*`), no list can name "those but GetSecretValue": the statement stays as
 *   written and one Deny of GetSecretValue (Resource `*`: a resource policy is about its secret
 *   only) naming exactly the principal is added. It overrides every Allow, so for a principal of
 *   the secret's account it also ends reads its identity policies give; the edit says so. A whole
 *   account is never denied that way (it would cut every principal of the account that reads by
 *   another path, its identity policies included): that is a blocker, for a person.
 * Everything else (other statements, Deny statements, conditions) stays as written. Access the
 * principal has only because a statement names everyone (`*`, NotPrincipal) or its whole account
 * cannot be removed without cutting others: that is a blocker, for a person (unless the Deny,
 * which also ends it, was added).
 */
export function removePrincipal(
  policy: PolicyDocument,
  secret: { arn: string; name: string },
  principal: PolicyPrincipal,
): PrincipalRemoval {
  const where = resourcePolicyWhere(secret);
  const statements = statementsOf(policy);
  const unchanged = (blockers: string[], alreadyDenied = false): PrincipalRemoval => ({
    after: policy,
    edited: [],
    dropped: [],
    denied: [],
    edits: [],
    alreadyDenied,
    blockers,
  });
  if (statements.some((statement) => deniesPrincipal(statement, secret.arn, principal))) {
    return unchanged([], true);
  }
  const taken = new Set(statements.flatMap((statement) => (statement.Sid ? [statement.Sid] : [])));
  const edited: string[] = [];
  const dropped: string[] = [];
  const denied: string[] = [];
  const edits: string[] = [];
  const blockers: string[] = [];
  const kept: PolicyStatement[] = [];
  statements.forEach((statement, position) => {
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
    const field = fieldOf(principal);
    const values = listOf(block[field]);
    const matched = values.filter((value) => isPrincipalValue(value, principal));
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
    if (matched.length === 0) {
      kept.push(statement);
      return;
    }
    const actions = actionsWithout(statement, READ_ACTION);
    if (actions.kind === 'inexpressible') {
      if (principal.type === 'aws_account') {
        blockers.push(
          `${label} names the whole account ${account}, and ${actions.why}: a Deny of the account would also cut every principal of it that reads ${secret.name} by another path (its identity policies included), so narrow the statement's Action by hand`,
        );
      } else {
        denied.push(label);
      }
      kept.push(statement);
      return;
    }
    // What the statement gave the principal besides the read: the same statement naming only it.
    const copy =
      actions.kind === 'left'
        ? replaceFields(
            replaceFields(statement, ['Principal'], {
              Principal: { [field]: remaining(block[field], matched) },
            }),
            ['Action', 'NotAction'],
            actions.part,
          )
        : undefined;
    const nextBlock = { ...block, [field]: remaining(block[field], left) };
    if (nextBlock[field] === undefined) delete nextBlock[field];
    if (Object.keys(nextBlock).length === 0) {
      if (copy) {
        if (actions.kind === 'left')
          edits.push(`${actions.words(label)}: ${principal.value} is its only principal`);
        kept.push(copy);
      } else {
        dropped.push(label);
        edits.push(`dropped ${label} (${principal.value} was its only principal)`);
      }
      return;
    }
    edited.push(label);
    kept.push(replaceFields(statement, ['Principal'], { Principal: nextBlock }));
    if (!copy) {
      edits.push(`removed ${principal.value} from ${label}`);
      return;
    }
    const sid = derivedSid(statement.Sid, 'WithoutRead', taken);
    if (sid) taken.add(sid);
    kept.push(sid === undefined ? copy : replaceFields(copy, ['Sid'], { Sid: sid }));
    edits.push(
      `removed ${principal.value} from ${label}, and added ${sid ? `statement ${sid}` : 'a statement'} giving it the same ${copy.NotAction !== undefined ? `NotAction ${listOf(copy.NotAction).join(', ')}` : `Action ${listOf(copy.Action).join(', ')}`} (everything ${label} gave it but ${READ_ACTION})`,
    );
  });
  if (denied.length > 0) {
    const sid = principalDenySid(principal.value);
    kept.push({
      Sid: sid,
      Effect: 'Deny',
      Principal: { [fieldOf(principal)]: principal.value },
      Action: READ_ACTION,
      Resource: '*',
    });
    const secretAccount = secret.arn.split(':')[4];
    const sameAccount =
      principal.type !== 'aws_service' && accountOfPrincipal(principal.value) === secretAccount;
    edits.push(
      `added statement ${sid} denying ${principal.value} ${READ_ACTION}, because ${denied
        .map(
          (label) =>
            `${label} gives it the read through an action wildcard that cannot lose it (the statement stays as written)`,
        )
        .join(
          '; and ',
        )}. Warning: a Deny overrides every Allow${sameAccount ? `, so ${principal.value} can then no longer read ${secret.name} through its identity policies either; if it is to keep such a read, narrow the wildcard statement by hand instead` : ''}`,
    );
    // The Deny ends the principal's read through "*", NotPrincipal and account statements too.
    blockers.length = 0;
  }
  if (edits.length === 0) return unchanged(blockers);
  return {
    after: kept.length === 0 ? null : withStatements(policy, kept),
    edited,
    dropped,
    denied,
    edits,
    alreadyDenied: false,
    blockers,
  };
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
  const changed = removal.edits.length > 0;
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
        action: removal.alreadyDenied
          ? `GetResourcePolicy ${secretArn}: a statement already denies ${grant.principal} the read; nothing to remove`
          : `GetResourcePolicy ${secretArn}: no statement allowing the read names ${grant.principal}; nothing to remove`,
      },
    };
  }
  const after = removal.after ? serializePolicy(removal.after) : null;
  const edits = removal.edits;
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
