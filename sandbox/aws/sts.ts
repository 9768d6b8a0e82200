import {
  type Handler,
  type Handlers,
  optionalNumber,
  optionalString,
  requiredString,
  validationError,
} from './context';
import { type PolicyDocument, parsePolicyText } from './documents';
import { AwsServiceError } from './errors';
import { temporaryCredentials } from './ids';
import type { Caller, CredentialRecord } from './state';

/*
 * STS: AssumeRole mints temporary credentials bound to the assumed role's session; the sandbox
 * then answers requests signed with them as that session. Whether the caller may assume the role
 * is iam-simulate's decision over the role's trust policy (and, across accounts, the caller's own
 * identity policies), exactly the two checks AWS makes.
 */

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role(\/(?:.*\/)?)([\w+=,.@-]+)$/;
const UNSUPPORTED = [
  'PolicyArns',
  'Tags',
  'TransitiveTagKeys',
  'SerialNumber',
  'TokenCode',
  'ProvidedContexts',
];
/** AWS caps a session reached through role chaining at one hour. */
const CHAINED_SESSION_LIMIT = 3600;

const assumeRole: Handler = async (context, input) => {
  const roleArn = requiredString(context, input, 'RoleArn');
  const sessionName = requiredString(context, input, 'RoleSessionName');
  for (const member of UNSUPPORTED) {
    if (input[member] !== undefined) {
      throw validationError(
        'sts',
        `The sandbox does not support AssumeRole's ${member}; it would be ignored.`,
      );
    }
  }
  const parsed = ROLE_ARN.exec(roleArn);
  if (!parsed) {
    throw validationError('sts', `${roleArn} is invalid`);
  }
  if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
    throw validationError(
      'sts',
      `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
    );
  }
  const externalId = optionalString(input, 'ExternalId');
  if (externalId !== undefined && !/^[\w+=,.@:/-]{2,1224}$/.test(externalId)) {
    throw validationError(
      'sts',
      `1 validation error detected: Value at 'externalId' failed to satisfy constraint`,
    );
  }
  let sessionPolicy: PolicyDocument | undefined;
  const policyText = optionalString(input, 'Policy');
  if (policyText !== undefined) {
    try {
      sessionPolicy = parsePolicyText(policyText, 'identity').document;
    } catch (error) {
      throw new AwsServiceError('MalformedPolicyDocument', (error as Error).message);
    }
  }

  const [, accountId, path, name] = parsed as unknown as [string, string, string, string];
  const { state } = context;
  const candidate = state.hasAccount(accountId) ? state.account(accountId).roles.get(name) : undefined;
  // A role whose path differs from the ARN asked for is not the role asked for.
  const role = candidate && candidate.path === path ? candidate : undefined;
  await context.authorize({
    action: 'sts:AssumeRole',
    resource: roleArn,
    resourceAccount: accountId,
    ...(role ? { resourcePolicy: role.trustPolicy.document } : {}),
    context: {
      'sts:RoleSessionName': sessionName,
      ...(externalId !== undefined ? { 'sts:ExternalId': externalId } : {}),
    },
  });
  // AWS answers AccessDenied, not NoSuchEntity, for a role that does not exist: nobody may assume it.
  if (!role) {
    throw new AwsServiceError(
      'AccessDenied',
      `User: ${context.caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      403,
    );
  }

  const chained = context.caller.principal.type === 'role' && context.caller.sessionName !== undefined;
  const limit = chained ? Math.min(CHAINED_SESSION_LIMIT, role.maxSessionDuration) : role.maxSessionDuration;
  const duration = optionalNumber(input, 'DurationSeconds') ?? 3600;
  if (duration < 900) {
    throw validationError(
      'sts',
      `1 validation error detected: Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`,
    );
  }
  if (duration > limit) {
    throw validationError(
      'sts',
      chained
        ? `The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.`
        : `The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`,
    );
  }

  const minted = temporaryCredentials();
  const expiration = new Date(Math.floor(Date.now() / 1000) * 1000 + duration * 1000);
  const caller: Caller = {
    accountId,
    arn: `arn:aws:sts::${accountId}:assumed-role/${role.name}/${sessionName}`,
    userId: `${role.id}:${sessionName}`,
    principal: { type: 'role', name: role.name, arn: role.arn },
    sessionName,
    ...(sessionPolicy ? { sessionPolicy } : {}),
  };
  const record: CredentialRecord = { ...minted, expiration, caller };
  state.credentials.set(minted.accessKeyId, record);
  role.lastUsed = { date: new Date(), region: context.region };
  return {
    Credentials: {
      AccessKeyId: minted.accessKeyId,
      SecretAccessKey: minted.secretAccessKey,
      SessionToken: minted.sessionToken,
      Expiration: expiration,
    },
    AssumedRoleUser: { AssumedRoleId: caller.userId, Arn: caller.arn },
  };
};

const getCallerIdentity: Handler = async (context) => {
  // AWS lets anyone with valid credentials ask who they are, whatever their policies say.
  return { UserId: context.caller.userId, Account: context.caller.accountId, Arn: context.caller.arn };
};

export const stsHandlers: Handlers = {
  AssumeRole: assumeRole,
  GetCallerIdentity: getCallerIdentity,
};
