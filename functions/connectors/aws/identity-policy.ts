import {
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  GetGroupPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  type IAMClient,
  ListPolicyVersionsCommand,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import type { AwsConfig } from '../../core/config';
import { accountOfArn, type Grant } from '../../core/grant';
import { callAws, callAwsOrNotFound, type RoleClient, type RoleKind } from './clients';
import { type AwsContext, isoNow, type PreparedRevoke } from './context';
import { AwsGrantError, isNotFound } from './errors';
import { READ_ACTION } from './evaluate';
import { readManagedPolicy, secretTarget } from './inventory';
import {
  actionsWithout,
  decodeIamDocument,
  derivedSid,
  listOf,
  nameOfArn,
  type PolicyDocument,
  type PolicyStatement,
  parsePolicy,
  pathOfArn,
  policyChange,
  replaceFields,
  resourcesWithout,
  serializePolicy,
  sha256Hex,
  statementAllows,
  statementCoversAction,
  statementCoversResource,
  statementLabel,
  statementsOf,
  withStatements,
} from './policy-documents';

/** IAM keeps at most five versions of a managed policy. */
const MAX_POLICY_VERSIONS = 5;

/** The identity policy a grant names: managed (an ARN) or inline (`<owner ARN>#<name>`). */
export type PolicyRef =
  | { kind: 'managed'; arn: string; path: string; awsManaged: boolean }
  | {
      kind: 'inline';
      ownerArn: string;
      ownerType: 'user' | 'group' | 'role';
      ownerName: string;
      name: string;
      path: string;
    };

export function policyRefOf(policy: string): PolicyRef {
  const hash = policy.indexOf('#');
  if (hash < 0) {
    if (!/^arn:aws[a-z-]*:iam::(\d{12}|aws):policy\//.test(policy)) {
      throw new AwsGrantError(
        `"${policy}" is neither a managed policy ARN nor <owner ARN>#<inline policy name>`,
      );
    }
    return {
      kind: 'managed',
      arn: policy,
      path: pathOfArn(policy),
      awsManaged: /:iam::aws:policy\//.test(policy),
    };
  }
  const ownerArn = policy.slice(0, hash);
  const owner = /^arn:aws[a-z-]*:iam::\d{12}:(user|group|role)\//.exec(ownerArn);
  if (!owner?.[1])
    throw new AwsGrantError(
      `"${ownerArn}" (owner of inline policy ${policy}) is not an IAM user, group or role ARN`,
    );
  return {
    kind: 'inline',
    ownerArn,
    ownerType: owner[1] as 'user' | 'group' | 'role',
    ownerName: nameOfArn(ownerArn),
    name: policy.slice(hash + 1),
    path: pathOfArn(ownerArn),
  };
}

/** Whether a revoke may edit this policy itself: a customer policy (or inline owner) on a configured path. */
export function isAutomatic(ref: PolicyRef, config: Pick<AwsConfig, 'automaticRemediation'>): boolean {
  if (ref.kind === 'managed' && ref.awsManaged) return false;
  return config.automaticRemediation.identityPolicyPaths.includes(ref.path);
}

export interface IdentityNarrowing {
  /** The narrowed document; undefined when the policy no longer allows the read. */
  after?: PolicyDocument;
  /** Labels of the statements that allowed the read. */
  statements: string[];
  /** Each edit, in words. */
  edits: string[];
  /**
   * True when a Deny statement was added: a wildcard other than `*` (an action wildcard such as
   * `secretsmanager:*`, or a resource pattern such as `prod/*`) covers the read and cannot lose it.
   */
  denyAdded: boolean;
}

/** The Sid of the Deny a revoke adds: letters and digits only, as IAM requires, and saying why. */
export function denySid(secretArn: string): string {
  return `AccessReviewRevokedRead${sha256Hex(secretArn).slice(0, 12)}`;
}

function isUnconditionalDenyOfRead(statement: PolicyStatement, secretArn: string): boolean {
  return (
    statement.Effect === 'Deny' &&
    statement.Condition === undefined &&
    statementCoversAction(statement, READ_ACTION) &&
    statementCoversResource(statement, secretArn)
  );
}

/** `Action a, b on Resource x` (or NotAction / NotResource): one statement of a split, in words. */
function describeStatement(statement: PolicyStatement): string {
  const actions =
    statement.NotAction !== undefined
      ? `NotAction ${listOf(statement.NotAction).join(', ')}`
      : `Action ${listOf(statement.Action).join(', ')}`;
  const resources =
    statement.NotResource !== undefined
      ? `NotResource ${listOf(statement.NotResource).join(', ')}`
      : `Resource ${listOf(statement.Resource).join(', ')}`;
  return `${statement.Sid ? `${statement.Sid}: ` : ''}${actions} on ${resources}`;
}

/**
 * The identity policy without the read of one secret, and nothing else: the other actions of
 * every statement that allowed it stay on all its resources, and the read stays on its other
 * resources. A statement that allows the read is the set (its actions) × (its resources); the
 * revoke writes it as (its actions but GetSecretValue) × (its resources), plus GetSecretValue ×
 * (its resources but the secret), each half with the statement's conditions:
 * - an explicit Action list loses GetSecretValue; `*` becomes NotAction GetSecretValue; a
 *   NotAction gains it;
 * - an explicit Resource list loses the ARN; `*` becomes NotResource [the ARN]; a NotResource gains
 *   it;
 * - an empty half is not written (a statement granting only the read of only this secret goes).
 * No Deny is needed then, so the principal's other policies (and, for a group or managed policy,
 * the other policies of everyone it applies to) keep every read they grant.
 *
 * Only a wildcard other than `*` cannot be narrowed this way: `secretsmanager:*` or
 * `secretsmanager:Get*` (IAM cannot write "those but not GetSecretValue"), or a resource pattern
 * such as `prod/*` or a policy variable. `NotResource: [secret]` was considered for the pattern:
 * iam-simulate and IAM accept it, but it allows GetSecretValue on every resource outside the
 * pattern too, which widens access; and Secrets Manager has no condition key holding the secret's
 * ARN to bound it (`secretsmanager:SecretId` is whatever name or ARN the caller sent). For those
 * statements one Deny of exactly GetSecretValue on exactly this secret is added, and the statement
 * stays as written. A Deny overrides every Allow, in every policy of every principal this policy
 * applies to, so the edit says so: `holders` names them ("every principal the policy is attached
 * to", a user…). A policy that already denies the read unconditionally needs nothing.
 */
export function narrowIdentityPolicy(
  document: PolicyDocument,
  secretArn: string,
  where: string,
  holders = `every principal ${where} applies to`,
): IdentityNarrowing {
  const statements = statementsOf(document);
  if (statements.some((statement) => isUnconditionalDenyOfRead(statement, secretArn))) {
    return { statements: [], edits: [], denyAdded: false };
  }
  const taken = new Set(statements.flatMap((statement) => (statement.Sid ? [statement.Sid] : [])));
  const allowing: string[] = [];
  const edits: string[] = [];
  /** Why a Deny is needed, once per statement. */
  const denyReasons: string[] = [];
  const kept: PolicyStatement[] = [];
  statements.forEach((statement, position) => {
    const label = statementLabel(statement, position + 1, where);
    if (!statementAllows(statement, READ_ACTION, secretArn)) {
      kept.push(statement);
      return;
    }
    allowing.push(label);
    const actions = actionsWithout(statement, READ_ACTION);
    const resources = resourcesWithout(statement, secretArn);
    const blocked = [actions, resources].flatMap((part) => (part.kind === 'inexpressible' ? [part.why] : []));
    if (blocked.length > 0) {
      denyReasons.push(`${label}: ${blocked.join('; and ')}`);
      kept.push(statement);
      return;
    }
    // (its actions but the read) × (its resources), then the read × (its resources but the secret).
    const parts: PolicyStatement[] = [];
    if (actions.kind === 'left') {
      parts.push(replaceFields(statement, ['Action', 'NotAction'], actions.part));
    }
    if (resources.kind === 'left') {
      const read = listOf(statement.Action).find(
        (action) => action.toLowerCase() === READ_ACTION.toLowerCase(),
      );
      const readOnly = replaceFields(statement, ['Action', 'NotAction'], {
        Action: Array.isArray(statement.Action) ? [read ?? READ_ACTION] : (read ?? READ_ACTION),
      });
      parts.push(replaceFields(readOnly, ['Resource', 'NotResource'], resources.part));
    }
    const [first, second] = parts;
    if (!first) {
      edits.push(`delete ${label} (${secretArn} was its only Resource)`);
      return;
    }
    if (!second) {
      const only = actions.kind === 'left' ? actions : resources;
      if (only.kind === 'left') edits.push(only.words(label));
      kept.push(first);
      return;
    }
    const sid = derivedSid(statement.Sid, 'ReadOtherResources', taken);
    if (sid) taken.add(sid);
    const split = sid === undefined ? second : { ...second, Sid: sid };
    edits.push(
      `split ${label} in two, so that only ${READ_ACTION} on ${secretArn} goes: ${describeStatement(first)}; and ${describeStatement(split)}`,
    );
    kept.push(first, split);
  });
  if (allowing.length === 0) return { statements: [], edits: [], denyAdded: false };
  // IAM refuses a policy without statements; one left empty keeps only the Deny (it grants nothing).
  const denyAdded = denyReasons.length > 0 || kept.length === 0;
  if (denyAdded) {
    const sid = denySid(secretArn);
    kept.push({ Sid: sid, Effect: 'Deny', Action: READ_ACTION, Resource: secretArn });
    const because =
      denyReasons.length > 0
        ? `${denyReasons.join('; and ')}, so the statement stays as written`
        : 'no statement is left and IAM refuses a policy with none (deleting the policy instead needs iam:Delete*Policy, which the revoke role does not hold)';
    edits.push(
      `add statement ${sid} denying ${READ_ACTION} on ${secretArn}, because ${because}. Warning: a Deny overrides every Allow, so ${holders} can then no longer read ${secretArn} through any other policy either (another identity policy, a group's, the secret's resource policy); if one is to keep that read, ${denyReasons.length > 0 ? 'rewrite the wildcard statement by hand instead' : 'delete this policy by hand instead'}`,
    );
  }
  return { after: withStatements(document, kept), statements: allowing, edits, denyAdded };
}

interface CurrentPolicy {
  text: string;
  document: PolicyDocument;
}

async function readInline(
  context: AwsContext,
  accountId: string,
  ref: Extract<PolicyRef, { kind: 'inline' }>,
  kind: RoleKind,
) {
  const iam = context.clients.iam(accountId, kind);
  const id = `${ref.ownerArn}#${ref.name}`;
  const answer = await callAwsOrNotFound(iam, `iam:Get${capitalised(ref.ownerType)}Policy`, id, async () => {
    switch (ref.ownerType) {
      case 'user':
        return (
          await iam.client.send(new GetUserPolicyCommand({ UserName: ref.ownerName, PolicyName: ref.name }))
        ).PolicyDocument;
      case 'group':
        return (
          await iam.client.send(new GetGroupPolicyCommand({ GroupName: ref.ownerName, PolicyName: ref.name }))
        ).PolicyDocument;
      case 'role':
        return (
          await iam.client.send(new GetRolePolicyCommand({ RoleName: ref.ownerName, PolicyName: ref.name }))
        ).PolicyDocument;
    }
  });
  if (answer === 'not_found') return answer;
  const text = decodeIamDocument(answer ?? '');
  return { text, document: parsePolicy(text, `inline policy ${id}`) };
}

function capitalised(word: string): string {
  return `${word.charAt(0).toUpperCase()}${word.slice(1)}`;
}

async function readCurrent(
  context: AwsContext,
  accountId: string,
  ref: PolicyRef,
  kind: RoleKind,
): Promise<CurrentPolicy | 'not_found'> {
  if (ref.kind === 'inline') return readInline(context, accountId, ref, kind);
  try {
    const policy = await readManagedPolicy(context.clients, accountId, kind, ref.arn);
    return { text: policy.text, document: policy.document };
  } catch (error) {
    if (isNotFound((error as { cause?: unknown }).cause)) return 'not_found';
    throw error;
  }
}

/**
 * Revokes a read that an identity policy grants. By default that is a remediation item naming the
 * policy, the statements and the exact edit: a shared policy edited automatically could cut others'
 * access. For policies on a path configured for automatic remediation, the edit is applied:
 * a managed policy gets a new default version (the oldest non-default version is deleted first
 * when IAM's five are used, and that deletion is a policy change of its own in the evidence), an
 * inline policy is put again.
 * Nothing is written here: `apply` writes (revoke), `changes` are what it would write (plan).
 */
export async function prepareIdentityPolicyRevoke(
  context: AwsContext,
  grant: Grant,
): Promise<PreparedRevoke> {
  if (grant.via.kind !== 'identity_policy') {
    throw new AwsGrantError(`grant ${grant.grantId} is not a read through an identity policy`);
  }
  const { secretArn } = secretTarget(grant);
  const ref = policyRefOf(grant.via.policy);
  // An identity-policy path is always within one account (across accounts the connector reports
  // the resource-policy side): the principal's account is the policy's, and the one to act in.
  const accountId = accountOfArn(grant.principal) ?? '';
  const automatic = isAutomatic(ref, context.config);
  const revokeRole = context.clients.roleArn(accountId, 'revoke');
  const canApply = automatic && revokeRole !== undefined;
  const current = await readCurrent(context, accountId, ref, canApply ? 'revoke' : 'read');
  const appliedAt = isoNow(context);
  const policy = grant.via.policy;
  const through = grant.via.group ? ` (attached to group ${grant.via.group})` : '';
  if (current === 'not_found') {
    return {
      result: {
        outcome: 'already_absent',
        appliedAt,
        action: `policy ${policy}${through} no longer exists; nothing to narrow`,
      },
    };
  }
  const holders =
    ref.kind === 'managed'
      ? `every principal ${policy} is attached to`
      : grant.via.group
        ? `every member of group ${grant.via.group}`
        : ref.ownerType === 'group'
          ? `every member of group ${ref.ownerName}`
          : ref.ownerArn;
  const narrowed = narrowIdentityPolicy(current.document, secretArn, policy, holders);
  if (!narrowed.after) {
    return {
      result: {
        outcome: 'already_absent',
        appliedAt,
        action: `policy ${policy}${through} no longer allows ${READ_ACTION} on ${secretArn}; nothing to narrow`,
      },
    };
  }
  const after = serializePolicy(narrowed.after);
  const shared =
    ref.kind === 'managed'
      ? `every principal policy ${policy} is attached to loses read access to ${secretArn}`
      : grant.via.group
        ? `every member of group ${grant.via.group} loses read access to ${secretArn}`
        : `${ref.ownerArn} loses read access to ${secretArn}`;
  if (!canApply) {
    const why =
      ref.kind === 'managed' && ref.awsManaged
        ? `${policy} is an AWS managed policy, which nobody can edit: detach it from ${grant.via.group ? `group ${grant.via.group}` : grant.principal} and attach a narrower one, or add to a customer managed policy attached to ${grant.via.group ? `group ${grant.via.group}` : grant.principal} a statement denying ${READ_ACTION} on ${secretArn}`
        : `In policy ${policy}${through}, allowed by ${narrowed.statements.join(', ')}: ${narrowed.edits.join('; ')}. Then ${shared}. The resulting policy document is: ${after}`;
    return {
      result: {
        outcome: 'remediation_required',
        appliedAt,
        action: automatic
          ? `no revokeRoleArn is configured for account ${accountId}: policy ${policy} was not changed`
          : `policy ${policy} is not on a path configured for automatic remediation (${ref.path}): it was not changed`,
        remediation: why,
      },
    };
  }
  const iam = context.clients.iam(accountId, 'revoke');
  if (ref.kind === 'managed') {
    const versions = await callAws(iam, 'iam:ListPolicyVersions', ref.arn, () =>
      iam.client.send(new ListPolicyVersionsCommand({ PolicyArn: ref.arn })),
    );
    const list = versions.Versions ?? [];
    const oldest =
      list.length >= MAX_POLICY_VERSIONS
        ? list
            .filter((version) => !version.IsDefaultVersion)
            .sort((a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0))[0]?.VersionId
        : undefined;
    const deleted =
      oldest === undefined
        ? undefined
        : {
            versionId: oldest,
            text: await readPolicyVersion(iam, ref.arn, oldest),
          };
    const changes = [
      ...(deleted ? [policyChange(`${ref.arn} version ${deleted.versionId}`, deleted.text, null)] : []),
      policyChange(ref.arn, current.text, after),
    ];
    return {
      changes,
      apply: async () => {
        if (deleted) {
          await callAws(iam, 'iam:DeletePolicyVersion', `${ref.arn} version ${deleted.versionId}`, () =>
            iam.client.send(
              new DeletePolicyVersionCommand({ PolicyArn: ref.arn, VersionId: deleted.versionId }),
            ),
          );
        }
        const created = await callAws(iam, 'iam:CreatePolicyVersion', ref.arn, () =>
          iam.client.send(
            new CreatePolicyVersionCommand({ PolicyArn: ref.arn, PolicyDocument: after, SetAsDefault: true }),
          ),
        );
        const version = created.PolicyVersion?.VersionId ?? 'new version';
        const note = deleted
          ? `, after it deleted its oldest non-default version ${deleted.versionId} (IAM keeps five)`
          : '';
        return {
          outcome: 'removed',
          appliedAt,
          action: `CreatePolicyVersion ${ref.arn} ${version} (default)${note}: ${narrowed.edits.join('; ')}; ${shared}`,
          policyChanges: changes,
        };
      },
    };
  }
  const operation = `iam:Put${capitalised(ref.ownerType)}Policy`;
  const changes = [policyChange(policy, current.text, after)];
  return {
    changes,
    apply: async () => {
      await callAws(iam, operation, policy, async () => {
        switch (ref.ownerType) {
          case 'user':
            return iam.client.send(
              new PutUserPolicyCommand({
                UserName: ref.ownerName,
                PolicyName: ref.name,
                PolicyDocument: after,
              }),
            );
          case 'group':
            return iam.client.send(
              new PutGroupPolicyCommand({
                GroupName: ref.ownerName,
                PolicyName: ref.name,
                PolicyDocument: after,
              }),
            );
          case 'role':
            return iam.client.send(
              new PutRolePolicyCommand({
                RoleName: ref.ownerName,
                PolicyName: ref.name,
                PolicyDocument: after,
              }),
            );
        }
      });
      return {
        outcome: 'removed',
        appliedAt,
        action: `${operation.slice(4)} ${policy}: ${narrowed.edits.join('; ')}; ${shared}`,
        policyChanges: changes,
      };
    },
  };
}

/** One version's document of a managed policy, as IAM holds it (decoded), for the evidence of its deletion. */
async function readPolicyVersion(
  iam: RoleClient<IAMClient>,
  arn: string,
  versionId: string,
): Promise<string> {
  const answer = await callAws(iam, 'iam:GetPolicyVersion', `${arn} version ${versionId}`, () =>
    iam.client.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: versionId })),
  );
  return decodeIamDocument(answer.PolicyVersion?.Document ?? '');
}
