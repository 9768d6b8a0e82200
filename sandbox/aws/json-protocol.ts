import { type AwsService, schemaProblems, serviceErrors, shapeOf } from './schemas';

/*
 * AWS JSON 1.1 (Secrets Manager, KMS): `POST /` with `X-Amz-Target: secretsmanager.ListSecrets` or
 * `TrentService.GetKeyPolicy` and a JSON body; answers are JSON with timestamps as epoch seconds;
 * errors are `{"__type": "ResourceNotFoundException", "Message": "…"}`, status 400 for the caller's
 * faults.
 */

export type JsonService = Extract<AwsService, 'secretsmanager' | 'kms'>;

export const JSON_TARGETS: Record<string, JsonService> = {
  secretsmanager: 'secretsmanager',
  TrentService: 'kms',
};

/** The service and operation an X-Amz-Target names, if it is one the sandbox speaks. */
export function parseTarget(
  target: string | undefined,
): { service: JsonService; action: string } | undefined {
  const match = /^([A-Za-z0-9_]+)\.([A-Za-z0-9]+)$/.exec(target ?? '');
  const service = match ? JSON_TARGETS[match[1]!] : undefined;
  return match && service ? { service, action: match[2]! } : undefined;
}

/** The value as JSON 1.1 carries it: Dates become epoch seconds, everything else stays. */
export function toJsonWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toJsonWire);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toJsonWire(item)]));
  }
  return value;
}

/** Secrets Manager's errors carry `Message`, KMS's `message` (each as its model names the member). */
function messageMember(service: JsonService, code: string): string {
  const modeled = serviceErrors(service).find((error) => error.name === code);
  const named = modeled?.shape.memberNames.find((name) => name.toLowerCase() === 'message');
  return named ?? (service === 'secretsmanager' ? 'Message' : 'message');
}

export function jsonErrorBody(service: JsonService, code: string, message: string): Record<string, string> {
  return { __type: code, [messageMember(service, code)]: message };
}

/** Errors JSON services answer besides the ones their models list (AWS's common errors). */
const COMMON_JSON_ERRORS = new Set([
  'AccessDeniedException',
  'ExpiredTokenException',
  'IncompleteSignatureException',
  'InternalFailure',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
  'SerializationException',
  'ServiceUnavailable',
  'ThrottlingException',
  'UnknownOperationException',
  'UnrecognizedClientException',
  'ValidationException',
]);

/** Problems with an error body: a `__type` the service does not have, or members its model does not list. */
export function jsonErrorProblems(service: JsonService, body: Record<string, unknown>): string[] {
  const code = String(body.__type);
  const modeled = serviceErrors(service).find((error) => error.name === code);
  if (!modeled) {
    return COMMON_JSON_ERRORS.has(code)
      ? []
      : [`error ${code}: ${service} has no such error (neither in its model nor among AWS's common errors)`];
  }
  const { __type: _type, ...members } = body;
  return schemaProblems(modeled.ref, members, 'json');
}

/** Whether the model's output for the operation is empty, so the answer is `{}`. */
export function isUnitOutput(outputRef: unknown): boolean {
  return shapeOf(outputRef).kind === 'unit';
}
