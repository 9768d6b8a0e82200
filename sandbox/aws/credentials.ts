import type { IncomingHttpHeaders } from 'node:http';
import type { AwsState, CredentialRecord } from './state';

/*
 * Who is calling. The sandbox reads the SigV4 Authorization header (it does not recompute the
 * signature: the point is to route by credential scope and to know the caller) and looks the access
 * key up among the credentials it issued.
 */

export interface CredentialScope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

/** Why a request cannot be attributed to anyone; the protocol turns it into the service's auth error. */
export type AuthenticationFailure =
  | { kind: 'missing' }
  | { kind: 'malformed'; detail: string }
  | { kind: 'unknown-key' }
  | { kind: 'expired' };

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request\s*,\s*SignedHeaders=([a-z0-9;-]+)\s*,\s*Signature=([0-9a-f]{64})$/;

/** The credential scope of a SigV4 Authorization header, or why there is none. */
export function parseAuthorization(header: string | undefined): CredentialScope | AuthenticationFailure {
  if (!header) return { kind: 'missing' };
  const match = AUTHORIZATION.exec(header.trim());
  if (!match) {
    return {
      kind: 'malformed',
      detail: header.startsWith('AWS4-HMAC-SHA256')
        ? 'Authorization header requires Credential, SignedHeaders and Signature parameters.'
        : 'Authorization header requires the AWS4-HMAC-SHA256 algorithm.',
    };
  }
  const [, accessKeyId, date, region, service] = match as unknown as [string, string, string, string, string];
  return { accessKeyId, date, region, service };
}

export function isFailure<T extends object>(
  value: T | AuthenticationFailure,
): value is AuthenticationFailure {
  return 'kind' in value;
}

/** The credentials behind a request's access key, checked against its session token and expiry. */
export function credentialsOf(
  state: AwsState,
  scope: CredentialScope,
  headers: IncomingHttpHeaders,
  now = new Date(),
): CredentialRecord | AuthenticationFailure {
  const record = state.credentials.get(scope.accessKeyId);
  if (!record) return { kind: 'unknown-key' };
  const token = headers['x-amz-security-token'];
  if ((record.sessionToken ?? undefined) !== (typeof token === 'string' ? token : undefined)) {
    return { kind: 'unknown-key' };
  }
  if (record.expiration && record.expiration <= now) return { kind: 'expired' };
  return record;
}
