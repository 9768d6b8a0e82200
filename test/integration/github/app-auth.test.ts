import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { gitHubCredentialsFrom } from '../../../functions/connectors/github/credentials';
import { createGitHubConnector } from '../../../functions/connectors/github/index';
import { ConfigError, ConnectorError } from '../../../functions/core/errors';
import { type GitHubSandbox, startGitHubSandbox } from '../../../sandbox/github/server';
import { collect, TOKEN } from './helpers';

/*
 * A deployed stack signs in as a GitHub App installation: installation tokens last an hour, so
 * the connector mints them from the app's private key when it needs one (@octokit/auth-app), and
 * the sandbox mints them only for a JWT that key signed.
 */
const keys = () =>
  generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
const appKeys = keys();

let sandbox: GitHubSandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function start() {
  sandbox = await startGitHubSandbox(
    { login: 'acme', members: [{ login: 'alice', role: 'owner' }], repositories: [{ name: 'api' }] },
    { token: TOKEN, app: { appId: '4242', installationId: 77, publicKey: appKeys.publicKey } },
  );
  return sandbox;
}

const connectorAs = (target: GitHubSandbox, privateKey: string, installationId = 77) =>
  createGitHubConnector({
    organization: 'acme',
    token: '',
    app: { appId: '4242', installationId, privateKey },
    baseUrl: target.url,
    throttle: { fast: true, retries: 0 },
    warn: () => {},
  });

describe('signing in as a GitHub App installation', () => {
  it('mints an installation token from the private key, then reads with it', async () => {
    const target = await start();
    const grants = await collect(connectorAs(target, appKeys.privateKey).snapshot());
    expect(grants.map((grant) => `${grant.principal} ${grant.entitlement}`)).toContain('alice owner');
    const calls = target.requests.map((request) => `${request.method} ${request.path} ${request.status}`);
    expect(calls[0]).toBe('POST /app/installations/77/access_tokens 201');
    // One token serves the whole snapshot.
    expect(calls.filter((call) => call.includes('access_tokens'))).toHaveLength(1);
    expect(target.violations).toEqual([]);
  });

  it('is refused with a key the app does not have, or for another installation', async () => {
    const target = await start();
    const stranger = keys();
    await expect(collect(connectorAs(target, stranger.privateKey).snapshot())).rejects.toThrow(
      ConnectorError,
    );
    expect(target.requests[0]).toMatchObject({ path: '/app/installations/77/access_tokens', status: 401 });
    await expect(collect(connectorAs(target, appKeys.privateKey, 78).snapshot())).rejects.toThrow(
      ConnectorError,
    );
    expect(target.requests.at(-1)).toMatchObject({
      path: '/app/installations/78/access_tokens',
      status: 404,
    });
    expect(target.violations).toEqual([]);
  });
});

describe('the GitHub secret', () => {
  it('is a token, or an app id, installation id and private key', () => {
    expect(gitHubCredentialsFrom({ token: ' ghs_abc ' }, 'the GitHub secret')).toEqual({
      kind: 'token',
      token: 'ghs_abc',
    });
    expect(
      gitHubCredentialsFrom(
        { appId: 4242, installationId: '77', privateKey: appKeys.privateKey },
        'the GitHub secret',
      ),
    ).toEqual({ kind: 'app', appId: '4242', installationId: 77, privateKey: appKeys.privateKey.trim() });
  });

  it('names every bad field, and never repeats a value', () => {
    const problems = (value: Record<string, unknown>) => {
      try {
        gitHubCredentialsFrom(value, 'the GitHub secret');
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      throw new Error('expected a ConfigError');
    };
    expect(problems({ appId: 'x', installationId: 77, privateKey: 'secret-value' })).toEqual([
      'appId must be the GitHub App id (digits)',
      'privateKey must be the app private key in PEM form',
    ]);
    expect(problems({})).toEqual([
      'give {"token": "..."} or {"appId": ..., "installationId": ..., "privateKey": "..."}',
    ]);
    expect(problems({ appId: 'x', installationId: 77, privateKey: 'secret-value' }).join('\n')).not.toContain(
      'secret-value',
    );
  });
});
