import type { AuthorizationRequest } from './authorize';
import { AwsServiceError } from './errors';
import type { AwsService } from './schemas';
import type { AwsState, Caller } from './state';

/** What an operation's handler works with: the world, who calls, where, and the authorizer. */
export interface CallContext {
  state: AwsState;
  caller: Caller;
  service: AwsService;
  /** The region of the request's credential scope. */
  region: string;
  /** Throws the service's AccessDenied error unless iam-simulate allows the request. */
  authorize(request: Omit<AuthorizationRequest, 'region'>): Promise<void>;
}

/** An operation's input as the protocol parsed it (member name → value). */
export type OperationInput = Readonly<Record<string, unknown>>;
/** The operation's output members; undefined for operations that answer nothing. */
export type OperationOutput = Record<string, unknown> | undefined;
export type Handler = (context: CallContext, input: OperationInput) => Promise<OperationOutput>;
export type Handlers = Readonly<Record<string, Handler>>;

/** The error each service answers a parameter it cannot accept with. */
export function validationError(service: AwsService, message: string): AwsServiceError {
  switch (service) {
    case 'secretsmanager':
      return new AwsServiceError('InvalidParameterException', message);
    case 'kms':
      return new AwsServiceError('ValidationException', message);
    default:
      return new AwsServiceError('ValidationError', message);
  }
}

/** A string parameter the operation requires, in AWS's words when it is missing. */
export function requiredString(context: CallContext, input: OperationInput, member: string): string {
  const value = input[member];
  if (typeof value === 'string' && value.length > 0) return value;
  const name = member.charAt(0).toLowerCase() + member.slice(1);
  throw validationError(
    context.service,
    `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
  );
}

export function optionalString(input: OperationInput, member: string): string | undefined {
  const value = input[member];
  return typeof value === 'string' ? value : undefined;
}

export function optionalNumber(input: OperationInput, member: string): number | undefined {
  const value = input[member];
  return typeof value === 'number' ? value : undefined;
}

/** A page size within AWS's bounds for the parameter, or a validation error naming them. */
export function pageSize(
  context: CallContext,
  input: OperationInput,
  member: string,
  bounds: { min: number; max: number; default: number },
): number {
  const value = optionalNumber(input, member) ?? bounds.default;
  if (!Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    const name = member.charAt(0).toLowerCase() + member.slice(1);
    throw validationError(
      context.service,
      `1 validation error detected: Value '${value}' at '${name}' failed to satisfy constraint: Member must have value between ${bounds.min} and ${bounds.max}`,
    );
  }
  return value;
}

/** An opaque paging token carrying an offset, so pages stay put while the sandbox is written to. */
export function pageToken(kind: string, offset: number): string {
  return Buffer.from(`${kind}:${offset}`).toString('base64');
}

/** The offset a token carries, or undefined when it is not one of ours for this listing. */
export function offsetOf(kind: string, token: string | undefined): number | undefined {
  if (token === undefined) return 0;
  const match = new RegExp(`^${kind}:(\\d+)$`).exec(Buffer.from(token, 'base64').toString('utf8'));
  return match ? Number(match[1]) : undefined;
}
