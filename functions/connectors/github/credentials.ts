import { ConfigError } from '../../core/errors';

/**
 * How the connector signs in to GitHub: a token (fine-grained or classic), or a GitHub App
 * installation, whose one-hour tokens are minted from the app's private key as they are needed
 * (a stored installation token would expire long before the quarterly run uses it).
 */
export type GitHubCredentials =
  | { kind: 'token'; token: string }
  | { kind: 'app'; appId: string; installationId: number; privateKey: string };

/**
 * Reads the GitHub secret: `{"token": "..."}` or `{"appId": ..., "installationId": ...,
 * "privateKey": "-----BEGIN ..."}`. Every missing or bad field is named; no value is repeated.
 */
export function gitHubCredentialsFrom(value: Record<string, unknown>, where: string): GitHubCredentials {
  const text = (field: string) => (typeof value[field] === 'string' ? (value[field] as string).trim() : '');
  if (text('token') !== '') return { kind: 'token', token: text('token') };
  const problems: string[] = [];
  const appId = typeof value.appId === 'number' ? String(value.appId) : text('appId');
  if (!/^\d+$/.test(appId)) problems.push('appId must be the GitHub App id (digits)');
  const installation =
    typeof value.installationId === 'number' ? String(value.installationId) : text('installationId');
  if (!/^\d+$/.test(installation)) problems.push('installationId must be the installation id (digits)');
  if (!/^-----BEGIN (RSA )?PRIVATE KEY-----/.test(text('privateKey'))) {
    problems.push('privateKey must be the app private key in PEM form');
  }
  if (Object.keys(value).length === 0 || (problems.length === 3 && !('appId' in value))) {
    throw new ConfigError(`${where} holds no GitHub credentials`, [
      'give {"token": "..."} or {"appId": ..., "installationId": ..., "privateKey": "..."}',
    ]);
  }
  if (problems.length > 0) throw new ConfigError(`${where} is incomplete`, problems);
  return { kind: 'app', appId, installationId: Number(installation), privateKey: text('privateKey') };
}
