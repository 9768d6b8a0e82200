import { generateKeyPairSync } from 'node:crypto';
import { createAppAuth } from '@octokit/auth-app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../../functions/connectors/connector';
import { createGitHubConnector } from '../../../functions/connectors/github/index';
import type { Services } from '../../../functions/runtime/services';
import { applyRevocations } from '../../../functions/steps/apply-revocations';
import { checkRevocations } from '../../../functions/steps/check-revocations';
import { takeSnapshot } from '../../../functions/steps/snapshot';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { type GitHubSandbox, startGitHubSandbox } from '../../../sandbox/github/server';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';
import { TOKEN } from './helpers';

/*
 * A deployed stack signs in as a GitHub App installation. Its token has no user (GET /user is
 * 403), so the connector asks GET /app, signed with the app's JWT, and the tool's own identity is
 * the app's bot `<slug>[bot]`. The revocation guard then forbids revoking anything that bot holds
 * (the app's installation on the organisation), whatever a reviewer decided; another app's
 * installation is not protected.
 */
const appKeys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const APP = { appId: '4242', installationId: 77, slug: 'acme-access-review', name: 'Acme Access Review' };

let sandbox: GitHubSandbox;
let dynamo: LocalDynamo;
let store: Store;
let services: Services;

const connectorAsApp = (privateKey = appKeys.privateKey) =>
  createGitHubConnector({
    organization: 'acme',
    token: '',
    app: { appId: APP.appId, installationId: APP.installationId, privateKey },
    baseUrl: sandbox.url,
    throttle: { fast: true, retries: 0 },
    warn: () => {},
  });

const appJwt = async (privateKey = appKeys.privateKey) =>
  (await createAppAuth({ appId: APP.appId, privateKey })({ type: 'app' })).token;

const getApp = (credential: string) =>
  fetch(`${sandbox.url}/app`, {
    headers: { authorization: `bearer ${credential}`, accept: 'application/vnd.github+json' },
  });

beforeAll(async () => {
  // No `viewer`: an installation token belongs to no user.
  sandbox = await startGitHubSandbox(
    {
      login: 'acme',
      members: [
        { login: 'alice', role: 'owner' },
        { login: 'carol', role: 'member' },
      ],
      repositories: [{ name: 'api' }],
      apps: [
        { slug: APP.slug, name: APP.name, permissions: { members: 'write', administration: 'write' } },
        { slug: 'deploy-bot', permissions: { contents: 'write' } },
      ],
    },
    { token: TOKEN, app: { ...APP, publicKey: appKeys.publicKey } },
  );
  ({ dynamo, store } = await startTestStore('github-app-identity'));
  const base = testServices(store, {
    connectors: connectorRegistry({ github: async () => connectorAsApp() }),
  });
  // No percent limit, so that the only verdict besides `allowed` is the tool's own identity.
  services = {
    ...base,
    config: { ...base.config, revocationGuard: { ...base.config.revocationGuard, maxRevokedPercent: 100 } },
  };
});

afterAll(async () => {
  await dynamo?.close();
  await sandbox?.close();
});

describe('GET /app in the GitHub sandbox', () => {
  it('answers the app a JWT signed by its key asks for, in the integration schema', async () => {
    const response = await getApp(await appJwt());
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      id: 4242,
      slug: APP.slug,
      name: APP.name,
      owner: { login: 'acme', type: 'Organization' },
      permissions: { members: 'write', administration: 'write' },
    });
    expect(sandbox.violations).toEqual([]);
  });

  it('refuses the installation token and a JWT from a key the app does not have (401)', async () => {
    const withToken = await getApp(TOKEN);
    expect(withToken.status).toBe(401);
    expect(await withToken.json()).toMatchObject({ message: 'A JSON web token could not be decoded' });
    const stranger = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    expect((await getApp(await appJwt(stranger.privateKey))).status).toBe(401);
    expect(sandbox.violations).toEqual([]);
  });
});

describe('the tool’s own identity as a GitHub App installation', () => {
  it('is the app’s bot, from GET /app after GET /user refuses the installation token', async () => {
    sandbox.requests.length = 0;
    expect(await connectorAsApp().ownIdentities?.()).toEqual([`${APP.slug}[bot]`]);
    expect(sandbox.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /app/installations/77/access_tokens 201',
      'GET /user 403',
      'GET /app 200',
    ]);
    expect(sandbox.violations).toEqual([]);
  });

  it('is never revoked: the guard forbids revoking the bot’s grants, another app’s only goes ahead', async () => {
    const campaignId = 'c-app-self';
    await createTestCampaign(store, campaignId, 'snapshotting');
    await takeSnapshot({ campaignId }, services);
    const installations = (await store.grants.list(campaignId)).filter(
      (grant) => grant.grantKind === 'app_installation',
    );
    expect(installations.map((grant) => grant.principal).sort()).toEqual([
      'acme-access-review',
      'deploy-bot',
    ]);
    for (const grant of installations) {
      await store.grants.assign(campaignId, grant.grantId, 'alice', 'fallback reviewer');
      await store.decisions.record({
        campaignId,
        grantId: grant.grantId,
        decision: 'revoke',
        reviewer: 'alice',
        decidedBySlackUserId: 'U0ALICE01',
        decidedAt: new Date().toISOString(),
        channel: 'slack',
      });
    }
    await store.campaigns.advance(campaignId, 'in_review');

    const checked = await checkRevocations({ campaignId }, services);
    expect(checked).toEqual({ campaignId, revocations: 2, allowed: 1, held: 0, forbidden: 1 });
    const summary = await store.approvals.getGuardSummary(campaignId);
    // Found at GitHub, not configured.
    expect(services.config.revocationGuard.ownIdentities.github).toEqual([]);
    expect(summary?.ownIdentities.github).toEqual([`${APP.slug}[bot]`]);
    const items = await store.approvals.listGuardItems(campaignId);
    const own = installations.find((grant) => grant.principal === APP.slug)!;
    const other = installations.find((grant) => grant.principal === 'deploy-bot')!;
    expect(items.find((item) => item.grantId === own.grantId)?.outcome).toBe('forbidden');
    expect(items.find((item) => item.grantId === other.grantId)?.outcome).not.toBe('forbidden');

    await applyRevocations({ campaignId }, services);
    expect((await store.outcomes.getRevocation(campaignId, own.grantId))?.status).toBe('refused_protected');
    expect((await store.outcomes.getRevocation(campaignId, other.grantId))?.status).not.toBe(
      'refused_protected',
    );
    expect(sandbox.violations).toEqual([]);
  });
});
