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
  decodeIamDocument,
  isPattern,
  listOf,
  nameOfArn,
  type PolicyDocument,
  type PolicyStatement,
  parsePolicy,
  pathOfArn,
  policyChange,
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
  /** True when a Deny statement was added because a wildcard also covers other secrets. */
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

/** Whether a statement's Action names exactly the read and nothing else (no wildcard, no NotAction). */
function grantsOnlyTheRead(statement: PolicyStatement): boolean {
  return (
    statement.Action !== undefined &&
    listOf(statement.Action).every((action) => action.toLowerCase() === READ_ACTION.toLowerCase())
  );
}

/**
 * The identity policy without the read of one secret. A statement that grants only
 * secretsmanager:GetSecretValue and whose Resource names the secret's ARN exactly loses that entry
 * (and is dropped when it had no other resource). A statement that reaches the secret through a
 * wildcard (or NotResource) cannot lose it without losing the other secrets the wildcard covers,
 * and one that also grants other actions (PutSecretValue, DescribeSecret, `secretsmanager:*`, a
 * NotAction…) cannot lose it without losing those actions on it: for either, one Deny statement of
 * exactly GetSecretValue on exactly this secret is added instead, with a Sid saying why, and the
 * statement stays as written. A policy that already denies the read unconditionally needs nothing.
 */
export function narrowIdentityPolicy(
  document: PolicyDocument,
  secretArn: string,
  where: string,
): IdentityNarrowing {
  const statements = statementsOf(document);
  if (statements.some((statement) => isUnconditionalDenyOfRead(statement, secretArn))) {
    return { statements: [], edits: [], denyAdded: false };
  }
  const allowing: string[] = [];
  const edits: string[] = [];
  /** Why a Deny is needed, once per reason. */
  const denyReasons = new Set<string>();
  const kept: PolicyStatement[] = [];
  statements.forEach((statement, position) => {
    const label = statementLabel(statement, position + 1, where);
    if (!statementAllows(statement, READ_ACTION, secretArn)) {
      kept.push(statement);
      return;
    }
    allowing.push(label);
    const resources = statement.Resource === undefined ? undefined : listOf(statement.Resource);
    const wildcard =
      resources === undefined || resources.some((item) => isPattern(item) && matches(item, secretArn));
    if (wildcard) {
      denyReasons.add('a wildcard Resource (or NotResource) also covers other secrets, which stay readable');
      kept.push(statement);
      return;
    }
    if (!grantsOnlyTheRead(statement)) {
      denyReasons.add(
        `${label} grants more than ${READ_ACTION} on it (${statement.NotAction !== undefined ? 'NotAction' : 'Action'} ${listOf(statement.Action ?? statement.NotAction).join(', ')}), and those other actions stay allowed`,
      );
      kept.push(statement);
      return;
    }
    const left = (resources ?? []).filter((item) => item !== secretArn);
    if (left.length === 0) {
      edits.push(`delete ${label} (${secretArn} was its only Resource)`);
      return;
    }
    edits.push(`remove "${secretArn}" from the Resource of ${label}`);
    kept.push({ ...statement, Resource: Array.isArray(statement.Resource) ? left : (left[0] ?? '') });
  });
  if (allowing.length === 0) return { statements: [], edits: [], denyAdded: false };
  // IAM refuses a policy without statements; one left empty keeps only the Deny (it grants nothing).
  const denyAdded = denyReasons.size > 0 || kept.length === 0;
  if (denyAdded) {
    const sid = denySid(secretArn);
    kept.push({ Sid: sid, Effect: 'Deny', Action: READ_ACTION, Resource: secretArn });
    edits.push(
      `add statement ${sid} denying ${READ_ACTION} on ${secretArn}, because ${
        denyReasons.size > 0 ? [...denyReasons].join('; and ') : 'IAM refuses a policy with no statement'
      }`,
    );
  }
  return { after: withStatements(document, kept), statements: allowing, edits, denyAdded };
}

function matches(pattern: string, arn: string): boolean {
  return statementCoversResource({ Effect: 'Allow', Resource: pattern }, arn);
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
  const narrowed = narrowIdentityPolicy(current.document, secretArn, policy);
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
