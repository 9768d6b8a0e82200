import {
  type CallContext,
  type Handler,
  type Handlers,
  type OperationInput,
  offsetOf,
  optionalString,
  pageSize,
  pageToken,
  requiredString,
  validationError,
} from './context';
import {
  encodePolicyText,
  MalformedPolicyError,
  type PolicyKind,
  parsePolicyText,
  type StoredPolicy,
  simulatorPolicyProblems,
} from './documents';
import { AwsServiceError } from './errors';
import { iamArn } from './ids';
import type { AwsAccount, IamGroup, IamRole, IamUser, ManagedPolicy, PolicyVersion } from './state';

/*
 * IAM, per account: the caller's credentials decide which account is read and written. Every
 * operation authorizes first (on the entity's ARN, or `*`), then looks the entity up, as IAM does,
 * so a caller without permission learns nothing about what exists. Documents go out URL-encoded.
 */

const MAX_POLICY_VERSIONS = 5;

function account(context: CallContext): AwsAccount {
  return context.state.account(context.caller.accountId);
}

function noSuchEntity(message: string): AwsServiceError {
  return new AwsServiceError('NoSuchEntity', message, 404);
}

/** Parses a document someone writes, refusing it as IAM would (MalformedPolicyDocument). */
async function writtenPolicy(text: string, kind: PolicyKind): Promise<StoredPolicy> {
  try {
    const stored = parsePolicyText(text, kind);
    const problems = await simulatorPolicyProblems(stored.document, kind);
    if (problems.length > 0) throw new MalformedPolicyError(problems.join('; '));
    return stored;
  } catch (error) {
    if (error instanceof MalformedPolicyError)
      throw new AwsServiceError('MalformedPolicyDocument', error.message);
    throw error;
  }
}

type EntityType = 'role' | 'user' | 'group';
type Entity<T extends EntityType> = T extends 'role' ? IamRole : T extends 'user' ? IamUser : IamGroup;

function entities<T extends EntityType>(target: AwsAccount, type: T): Map<string, Entity<T>> {
  const maps = { role: target.roles, user: target.users, group: target.groups };
  return maps[type] as Map<string, Entity<T>>;
}

const MEMBER_NAMES = { role: 'RoleName', user: 'UserName', group: 'GroupName' } as const;

/** Authorizes `iam:<action>` on the named entity, then finds it (NoSuchEntity when it does not exist). */
async function entityFor<T extends EntityType>(
  context: CallContext,
  input: OperationInput,
  type: T,
  action: string,
): Promise<Entity<T>> {
  const name = requiredString(context, input, MEMBER_NAMES[type]);
  const target = account(context);
  const entity = entities(target, type).get(name);
  await context.authorize({
    action: `iam:${action}`,
    resource: entity?.arn ?? iamArn(target.id, type, '/', name),
    resourceAccount: target.id,
  });
  if (!entity) throw noSuchEntity(`The ${type} with name ${name} cannot be found.`);
  return entity;
}

/** Authorizes `iam:<action>` on a managed policy, then finds it. */
async function policyFor(
  context: CallContext,
  input: OperationInput,
  action: string,
): Promise<ManagedPolicy> {
  const arn = requiredString(context, input, 'PolicyArn');
  const owner = /^arn:aws:iam::(aws|\d{12}):policy\//.exec(arn)?.[1];
  if (!owner) throw validationError(context.service, `ARN ${arn} is not valid.`);
  await context.authorize({
    action: `iam:${action}`,
    resource: arn,
    // AWS managed policies belong to no customer account; they are read as the caller's own.
    resourceAccount: owner === 'aws' ? context.caller.accountId : owner,
  });
  const policy = context.state.managedPolicy(arn);
  if (!policy) throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
  return policy;
}

function versionOf(policy: ManagedPolicy, versionId: string): PolicyVersion {
  const version = policy.versions.find((v) => v.versionId === versionId);
  if (!version)
    throw noSuchEntity(`Policy ${policy.arn} version ${versionId} does not exist or is not attachable.`);
  return version;
}

function refuseAwsManaged(context: CallContext, policy: ManagedPolicy, action: string): void {
  if (policy.awsManaged) {
    throw new AwsServiceError(
      'AccessDenied',
      `User: ${context.caller.arn} is not authorized to perform: iam:${action} on resource: policy ${policy.arn}`,
      403,
    );
  }
}

/** IAM's MaxItems/Marker paging, checked up front so a bad Marker is refused before the listing is built. */
function markerPaging(context: CallContext, input: OperationInput, kind: string) {
  const maxItems = pageSize(context, input, 'MaxItems', { min: 1, max: 1000, default: 100 });
  const offset = offsetOf(kind, optionalString(input, 'Marker'));
  if (offset === undefined) throw new AwsServiceError('InvalidInput', 'Invalid Marker.');
  return <T>(items: readonly T[]) => {
    const truncated = offset + maxItems < items.length;
    return {
      page: items.slice(offset, offset + maxItems),
      IsTruncated: truncated,
      ...(truncated ? { Marker: pageToken(kind, offset + maxItems) } : {}),
    };
  };
}

const tagList = (tags: Record<string, string>) =>
  Object.keys(tags).length > 0 ? { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } : {};

const inlineList = (policies: Map<string, StoredPolicy>) =>
  [...policies].map(([PolicyName, stored]) => ({
    PolicyName,
    PolicyDocument: encodePolicyText(stored.text),
  }));

function attachedList(context: CallContext, arns: readonly string[]) {
  return arns.map((PolicyArn) => ({
    PolicyName: context.state.managedPolicy(PolicyArn)?.name ?? PolicyArn,
    PolicyArn,
  }));
}

const boundaryOf = (arn: string | undefined) =>
  arn
    ? {
        PermissionsBoundary: {
          PermissionsBoundaryType: 'PermissionsBoundaryPolicy',
          PermissionsBoundaryArn: arn,
        },
      }
    : {};

function roleLastUsed(role: IamRole) {
  return role.lastUsed
    ? { LastUsedDate: role.lastUsed.date, ...(role.lastUsed.region ? { Region: role.lastUsed.region } : {}) }
    : {};
}

function roleOutput(role: IamRole) {
  return {
    Path: role.path,
    RoleName: role.name,
    RoleId: role.id,
    Arn: role.arn,
    CreateDate: role.createDate,
    AssumeRolePolicyDocument: encodePolicyText(role.trustPolicy.text),
    ...(role.description !== undefined ? { Description: role.description } : {}),
    MaxSessionDuration: role.maxSessionDuration,
    ...boundaryOf(role.permissionsBoundary),
    ...tagList(role.tags),
    RoleLastUsed: roleLastUsed(role),
  };
}

function policyOutput(context: CallContext, policy: ManagedPolicy) {
  const { attached, boundary } = context.state.attachments(context.caller.accountId, policy.arn);
  return {
    PolicyName: policy.name,
    PolicyId: policy.id,
    Arn: policy.arn,
    Path: policy.path,
    DefaultVersionId: policy.versions.find((v) => v.isDefault)?.versionId,
    AttachmentCount: attached,
    PermissionsBoundaryUsageCount: boundary,
    IsAttachable: true,
    ...(policy.description !== undefined ? { Description: policy.description } : {}),
    CreateDate: policy.createDate,
    UpdateDate: policy.updateDate,
  };
}

function versionOutput(version: PolicyVersion, withDocument: boolean) {
  return {
    ...(withDocument ? { Document: encodePolicyText(version.policy.text) } : {}),
    VersionId: version.versionId,
    IsDefaultVersion: version.isDefault,
    CreateDate: version.createDate,
  };
}

function userOutput(user: IamUser) {
  return {
    Path: user.path,
    UserName: user.name,
    UserId: user.id,
    Arn: user.arn,
    CreateDate: user.createDate,
  };
}

function groupOutput(group: IamGroup) {
  return {
    Path: group.path,
    GroupName: group.name,
    GroupId: group.id,
    Arn: group.arn,
    CreateDate: group.createDate,
  };
}

const ENTITY_FILTERS = ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'] as const;
type DetailList = 'UserDetailList' | 'GroupDetailList' | 'RoleDetailList' | 'Policies';

const getAccountAuthorizationDetails: Handler = async (context, input) => {
  await context.authorize({
    action: 'iam:GetAccountAuthorizationDetails',
    resource: '*',
    resourceAccount: context.caller.accountId,
  });
  const filter = (input.Filter as string[] | undefined) ?? [];
  for (const value of filter) {
    if (!(ENTITY_FILTERS as readonly string[]).includes(value)) {
      throw validationError(
        'iam',
        `1 validation error detected: Value '[${filter.join(', ')}]' at 'filter' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [${ENTITY_FILTERS.join(', ')}]]`,
      );
    }
  }
  const wanted = (type: (typeof ENTITY_FILTERS)[number]) => filter.length === 0 || filter.includes(type);
  const paginate = markerPaging(context, input, 'authorization-details');

  const target = account(context);
  const entries: Array<{ list: DetailList; item: Record<string, unknown> }> = [];
  if (wanted('User')) {
    for (const user of target.users.values()) {
      entries.push({
        list: 'UserDetailList',
        item: {
          ...userOutput(user),
          UserPolicyList: inlineList(user.inlinePolicies),
          GroupList: [...user.groups],
          AttachedManagedPolicies: attachedList(context, user.managedPolicies),
          ...boundaryOf(user.permissionsBoundary),
          ...tagList(user.tags),
        },
      });
    }
  }
  if (wanted('Group')) {
    for (const group of target.groups.values()) {
      entries.push({
        list: 'GroupDetailList',
        item: {
          ...groupOutput(group),
          GroupPolicyList: inlineList(group.inlinePolicies),
          AttachedManagedPolicies: attachedList(context, group.managedPolicies),
        },
      });
    }
  }
  if (wanted('Role')) {
    for (const role of target.roles.values()) {
      const {
        AssumeRolePolicyDocument,
        Description: _description,
        MaxSessionDuration: _max,
        ...rest
      } = roleOutput(role);
      entries.push({
        list: 'RoleDetailList',
        item: {
          ...rest,
          AssumeRolePolicyDocument,
          InstanceProfileList: [],
          RolePolicyList: inlineList(role.inlinePolicies),
          AttachedManagedPolicies: attachedList(context, role.managedPolicies),
        },
      });
    }
  }
  const policies: ManagedPolicy[] = [];
  if (wanted('LocalManagedPolicy')) policies.push(...target.policies.values());
  if (wanted('AWSManagedPolicy')) {
    // GetAccountAuthorizationDetails lists the AWS managed policies the account uses, not all of AWS's.
    for (const policy of context.state.awsManagedPolicies.values()) {
      const { attached, boundary } = context.state.attachments(target.id, policy.arn);
      if (attached + boundary > 0) policies.push(policy);
    }
  }
  for (const policy of policies) {
    entries.push({
      list: 'Policies',
      item: {
        ...policyOutput(context, policy),
        PolicyVersionList: policy.versions.map((version) => versionOutput(version, true)),
      },
    });
  }

  const { page, ...paging } = paginate(entries);
  const lists: Record<DetailList, Array<Record<string, unknown>>> = {
    UserDetailList: [],
    GroupDetailList: [],
    RoleDetailList: [],
    Policies: [],
  };
  for (const entry of page) lists[entry.list].push(entry.item);
  return { ...lists, ...paging };
};

const getRole: Handler = async (context, input) => {
  const role = await entityFor(context, input, 'role', 'GetRole');
  return { Role: roleOutput(role) };
};

const updateAssumeRolePolicy: Handler = async (context, input) => {
  const role = await entityFor(context, input, 'role', 'UpdateAssumeRolePolicy');
  role.trustPolicy = await writtenPolicy(requiredString(context, input, 'PolicyDocument'), 'trust');
  return undefined;
};

const getPolicy: Handler = async (context, input) => {
  const policy = await policyFor(context, input, 'GetPolicy');
  return { Policy: policyOutput(context, policy) };
};

const getPolicyVersion: Handler = async (context, input) => {
  const policy = await policyFor(context, input, 'GetPolicyVersion');
  const version = versionOf(policy, requiredString(context, input, 'VersionId'));
  return { PolicyVersion: versionOutput(version, true) };
};

const listPolicyVersions: Handler = async (context, input) => {
  const policy = await policyFor(context, input, 'ListPolicyVersions');
  const paginate = markerPaging(context, input, 'policy-versions');
  // Newest first, as IAM lists them.
  const { page, ...paging } = paginate([...policy.versions].reverse());
  return { Versions: page.map((version) => versionOutput(version, false)), ...paging };
};

const createPolicyVersion: Handler = async (context, input) => {
  const policy = await policyFor(context, input, 'CreatePolicyVersion');
  refuseAwsManaged(context, policy, 'CreatePolicyVersion');
  const stored = await writtenPolicy(requiredString(context, input, 'PolicyDocument'), 'identity');
  if (policy.versions.length >= MAX_POLICY_VERSIONS) {
    throw new AwsServiceError(
      'LimitExceeded',
      `A managed policy can have up to ${MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version.`,
      409,
    );
  }
  const now = new Date();
  const setAsDefault = input.SetAsDefault === true;
  const version: PolicyVersion = {
    versionId: `v${policy.nextVersion++}`,
    policy: stored,
    isDefault: setAsDefault,
    createDate: now,
  };
  if (setAsDefault) {
    for (const existing of policy.versions) existing.isDefault = false;
    policy.updateDate = now;
  }
  policy.versions.push(version);
  return { PolicyVersion: versionOutput(version, false) };
};

const deletePolicyVersion: Handler = async (context, input) => {
  const policy = await policyFor(context, input, 'DeletePolicyVersion');
  refuseAwsManaged(context, policy, 'DeletePolicyVersion');
  const version = versionOf(policy, requiredString(context, input, 'VersionId'));
  if (version.isDefault) {
    throw new AwsServiceError('DeleteConflict', 'Cannot delete the default version of a policy.', 409);
  }
  policy.versions.splice(policy.versions.indexOf(version), 1);
  return undefined;
};

const setDefaultPolicyVersion: Handler = async (context, input) => {
  const policy = await policyFor(context, input, 'SetDefaultPolicyVersion');
  refuseAwsManaged(context, policy, 'SetDefaultPolicyVersion');
  const version = versionOf(policy, requiredString(context, input, 'VersionId'));
  for (const existing of policy.versions) existing.isDefault = existing === version;
  policy.updateDate = new Date();
  return undefined;
};

/** Get/Put/Delete of an inline policy on a role, user or group. */
function inlinePolicyHandlers(type: EntityType): Handlers {
  const noun = type.charAt(0).toUpperCase() + type.slice(1);
  const nameMember = MEMBER_NAMES[type];
  const missing = (name: string) => noSuchEntity(`The ${type} policy with name ${name} cannot be found.`);
  return {
    [`Get${noun}Policy`]: async (context, input) => {
      const entity = await entityFor(context, input, type, `Get${noun}Policy`);
      const name = requiredString(context, input, 'PolicyName');
      const stored = entity.inlinePolicies.get(name);
      if (!stored) throw missing(name);
      return { [nameMember]: entity.name, PolicyName: name, PolicyDocument: encodePolicyText(stored.text) };
    },
    [`Put${noun}Policy`]: async (context, input) => {
      const entity = await entityFor(context, input, type, `Put${noun}Policy`);
      const name = requiredString(context, input, 'PolicyName');
      if (!/^[\w+=,.@-]{1,128}$/.test(name)) {
        throw validationError('iam', `The specified value for policyName is invalid.`);
      }
      entity.inlinePolicies.set(
        name,
        await writtenPolicy(requiredString(context, input, 'PolicyDocument'), 'identity'),
      );
      return undefined;
    },
    [`Delete${noun}Policy`]: async (context, input) => {
      const entity = await entityFor(context, input, type, `Delete${noun}Policy`);
      const name = requiredString(context, input, 'PolicyName');
      if (!entity.inlinePolicies.delete(name)) throw missing(name);
      return undefined;
    },
    [`Detach${noun}Policy`]: async (context, input) => {
      const entity = await entityFor(context, input, type, `Detach${noun}Policy`);
      const arn = requiredString(context, input, 'PolicyArn');
      const index = entity.managedPolicies.indexOf(arn);
      if (index < 0) throw noSuchEntity(`Policy ${arn} was not found.`);
      entity.managedPolicies.splice(index, 1);
      return undefined;
    },
  };
}

const listOpenIDConnectProviders: Handler = async (context) => {
  await context.authorize({
    action: 'iam:ListOpenIDConnectProviders',
    resource: '*',
    resourceAccount: context.caller.accountId,
  });
  const target = account(context);
  return {
    OpenIDConnectProviderList: target.oidcProviders.map((host) => ({
      Arn: `arn:aws:iam::${target.id}:oidc-provider/${host}`,
    })),
  };
};

const getGroup: Handler = async (context, input) => {
  const group = await entityFor(context, input, 'group', 'GetGroup');
  const paginate = markerPaging(context, input, 'group-members');
  const members = [...account(context).users.values()].filter((user) => user.groups.includes(group.name));
  const { page, ...paging } = paginate(members);
  return { Group: groupOutput(group), Users: page.map(userOutput), ...paging };
};

const getUser: Handler = async (context, input) => {
  // Without UserName, IAM answers about the calling user.
  const name =
    optionalString(input, 'UserName') ??
    (context.caller.principal.type === 'user' ? context.caller.principal.name : undefined);
  if (name === undefined) {
    throw validationError('iam', 'Must specify userName when calling with non-User credentials');
  }
  const user = await entityFor(context, { ...input, UserName: name }, 'user', 'GetUser');
  return { User: { ...userOutput(user), ...boundaryOf(user.permissionsBoundary), ...tagList(user.tags) } };
};

const removeUserFromGroup: Handler = async (context, input) => {
  const group = await entityFor(context, input, 'group', 'RemoveUserFromGroup');
  const userName = requiredString(context, input, 'UserName');
  const user = account(context).users.get(userName);
  if (!user) throw noSuchEntity(`The user with name ${userName} cannot be found.`);
  // Removing someone who is not a member changes nothing and succeeds.
  user.groups = user.groups.filter((name) => name !== group.name);
  return undefined;
};

export const iamHandlers: Handlers = {
  GetAccountAuthorizationDetails: getAccountAuthorizationDetails,
  GetRole: getRole,
  UpdateAssumeRolePolicy: updateAssumeRolePolicy,
  GetPolicy: getPolicy,
  GetPolicyVersion: getPolicyVersion,
  ListPolicyVersions: listPolicyVersions,
  CreatePolicyVersion: createPolicyVersion,
  DeletePolicyVersion: deletePolicyVersion,
  SetDefaultPolicyVersion: setDefaultPolicyVersion,
  ...inlinePolicyHandlers('role'),
  ...inlinePolicyHandlers('user'),
  ...inlinePolicyHandlers('group'),
  ListOpenIDConnectProviders: listOpenIDConnectProviders,
  GetGroup: getGroup,
  GetUser: getUser,
  RemoveUserFromGroup: removeUserFromGroup,
};
