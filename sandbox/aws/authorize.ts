import { getDenialReasons, runSimulation } from '@cloud-copilot/iam-simulate';
import type { PolicyDocument } from './documents';
import { AwsServiceError } from './errors';
import type { AwsService } from './schemas';
import type { AwsState, Caller } from './state';

/*
 * Every call is decided the way AWS decides it, by @cloud-copilot/iam-simulate: the caller's
 * identity policies (inline, managed, its groups' for a user) within its permissions boundary,
 * and the resource's policy where it has one (a role's trust policy for sts:AssumeRole, a secret's
 * resource policy, a key policy). Cross-account calls then need both sides to allow, and a KMS key
 * policy that does not delegate to the account ignores IAM policies, as on AWS.
 */

export interface AuthorizationRequest {
  /** `service:Action`, as policies name it. */
  action: string;
  /** The resource's ARN, or `*` for actions that take none (ListSecrets, GetAccountAuthorizationDetails). */
  resource: string;
  /** The account owning the resource. */
  resourceAccount: string;
  resourcePolicy?: PolicyDocument;
  /** Request context beyond what the caller implies (sts:ExternalId, kms:ViaService, …). */
  context?: Record<string, string | string[]>;
  /** The region the request goes to (aws:RequestedRegion). */
  region?: string;
}

export type Decision = { allowed: true } | { allowed: false; message: string };

/** iam-simulate could not evaluate the request: a sandbox bug or a policy it cannot read. */
export class SimulationError extends Error {
  constructor(request: AuthorizationRequest, detail: string) {
    super(`iam-simulate could not decide ${request.action} on ${request.resource}: ${detail}`);
    this.name = 'SimulationError';
  }
}

function callerContext(state: AwsState, caller: Caller): Record<string, string> {
  const now = new Date();
  const context: Record<string, string> = {
    'aws:PrincipalArn': caller.principal.arn,
    'aws:PrincipalAccount': caller.accountId,
    'aws:PrincipalType': caller.principal.type === 'role' ? 'AssumedRole' : 'User',
    'aws:userid': caller.userId,
    'aws:PrincipalIsAWSService': 'false',
    'aws:SecureTransport': 'true',
    'aws:CurrentTime': now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'aws:EpochTime': String(Math.floor(now.getTime() / 1000)),
  };
  if (caller.principal.type === 'user') context['aws:username'] = caller.principal.name;
  const account = state.hasAccount(caller.accountId) ? state.account(caller.accountId) : undefined;
  const entity =
    caller.principal.type === 'role'
      ? account?.roles.get(caller.principal.name)
      : account?.users.get(caller.principal.name);
  for (const [key, value] of Object.entries(entity?.tags ?? {})) context[`aws:PrincipalTag/${key}`] = value;
  return context;
}

function denialMessage(
  service: AwsService,
  caller: Caller,
  request: AuthorizationRequest,
  reasons: ReturnType<typeof getDenialReasons>,
) {
  // IAM and STS name `*` as the resource; Secrets Manager and KMS leave a resource-less action's out.
  const named = request.resource !== '*' || service === 'iam' || service === 'sts';
  const onResource = named ? ` on resource: ${request.resource}` : '';
  const subject = `User: ${caller.arn} is not authorized to perform: ${request.action}${onResource}`;
  const policyName = (type: string) =>
    type === 'resource'
      ? 'resource-based policy'
      : type === 'pb'
        ? 'permissions boundary'
        : type === 'scp'
          ? 'service control policy'
          : 'identity-based policy';
  const explicit = reasons.find((reason) => reason.denialType === 'Explicit');
  if (explicit) {
    const article = explicit.policyType === 'identity' ? 'an' : 'a';
    return `${subject} with an explicit deny in ${article} ${policyName(explicit.policyType)}`;
  }
  const implicit = reasons.find((reason) => reason.policyType === 'pb') ?? reasons[0];
  const which = implicit?.policyType ?? 'identity';
  return `${subject} because no ${policyName(which)} allows the ${request.action} action`;
}

/** Whether the caller may make the request, and AWS's message when not. */
export async function decide(
  state: AwsState,
  caller: Caller,
  service: AwsService,
  request: AuthorizationRequest,
): Promise<Decision> {
  const { policies, boundary } = state.identityPolicies(caller.principal.arn);
  const context: Record<string, string | string[]> = {
    ...callerContext(state, caller),
    'aws:ResourceAccount': request.resourceAccount,
    ...(request.region ? { 'aws:RequestedRegion': request.region } : {}),
    ...request.context,
  };
  const result = await runSimulation(
    {
      identityPolicies: policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(boundary ? { permissionBoundaryPolicies: [boundary] } : {}),
      ...(caller.sessionPolicy ? { sessionPolicy: caller.sessionPolicy } : {}),
      ...(request.resourcePolicy ? { resourcePolicy: request.resourcePolicy } : {}),
      request: {
        action: request.action,
        principal: caller.arn,
        resource: { accountId: request.resourceAccount, resource: request.resource },
        contextVariables: context,
      },
    },
    {},
  );
  if (result.resultType === 'error') throw new SimulationError(request, JSON.stringify(result.errors));
  if (result.overallResult === 'Allowed') return { allowed: true };
  const analyses =
    result.resultType === 'single' ? [result.result.analysis] : result.results.map((r) => r.analysis);
  return {
    allowed: false,
    message: denialMessage(service, caller, request, analyses.flatMap(getDenialReasons)),
  };
}

/** The error a service answers a refused call with. */
export function accessDenied(service: AwsService, message: string): AwsServiceError {
  return service === 'iam' || service === 'sts'
    ? new AwsServiceError('AccessDenied', message, 403)
    : new AwsServiceError('AccessDeniedException', message, 400);
}

/** Throws the service's AccessDenied error unless the caller may make the request. */
export async function authorize(
  state: AwsState,
  caller: Caller,
  service: AwsService,
  request: AuthorizationRequest,
): Promise<void> {
  const decision = await decide(state, caller, service, request);
  if (!decision.allowed) throw accessDenied(service, decision.message);
}
