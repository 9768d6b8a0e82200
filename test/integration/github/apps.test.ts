import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../../functions/connectors/connector';
import type { Grant } from '../../../functions/core/grant';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import type { GitHubState, OrganizationInput } from '../../../sandbox/github/state';
import { closeChecked, collect, findGrant, line, snapshotSandbox, writeRequests } from './helpers';

const organization: OrganizationInput = {
  login: 'acme',
  members: [{ login: 'alice', role: 'owner' }],
  repositories: [{ name: 'api' }],
  apps: [
    {
      slug: 'renovate',
      permissions: { contents: 'write', pull_requests: 'write', metadata: 'read' },
      repositorySelection: 'all',
      installedAt: '2025-02-01T00:00:00Z',
    },
    { slug: 'docs-bot', permissions: { pages: 'write' }, repositories: ['api'] },
    { slug: 'empty-app' },
  ],
};

let sandbox: GitHubSandbox;
let connector: Connector;
let grants: Grant[];

beforeEach(async () => {
  ({ sandbox, connector, grants } = await snapshotSandbox(organization, ['app_installation']));
});
afterEach(() => closeChecked(sandbox));

const writes = () => writeRequests(sandbox);

function installationOf(state: GitHubState, slug: string) {
  const app = [...state.cicd.apps.values()].find((candidate) => candidate.slug === slug);
  if (!app) throw new Error(`no app ${slug}`);
  return app;
}

describe('GitHub App installations', () => {
  it('reports one grant per installation, its permission set as the entitlement', () => {
    expect(grants.map((grant) => `${line(grant)} [${grant.flags.join(',')}]`).sort()).toEqual([
      'organization acme docs-bot pages:write direct []',
      'organization acme empty-app no permissions direct []',
      'organization acme renovate contents:write, metadata:read, pull_requests:write direct [visible_to_all_repositories]',
    ]);
    const renovate = installationOf(sandbox.state, 'renovate');
    expect(
      findGrant(
        grants,
        'organization acme renovate contents:write, metadata:read, pull_requests:write direct',
      ).raw,
    ).toEqual({
      installationId: renovate.id,
      appId: renovate.appId,
      repositorySelection: 'all',
      installedAt: '2025-02-01T00:00:00Z',
      updatedAt: '2025-02-01T00:00:00Z',
      suspendedAt: null,
    });
    expect(grants.every((grant) => grant.principalType === 'app' && grant.reviewable)).toBe(true);
  });

  it('asks an org owner to uninstall or narrow the app, and checks until it is done', async () => {
    const grant = findGrant(grants, 'organization acme docs-bot pages:write direct');
    const docsBot = installationOf(sandbox.state, 'docs-bot');
    expect(await connector.check(grant)).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'pages:write' }],
    });
    const result = await connector.revoke(grant);
    expect(result).toMatchObject({
      outcome: 'remediation_required',
      action: `GET /orgs/acme/installations: app docs-bot is installed (installation ${docsBot.id}); no API lets the organization uninstall it`,
    });
    expect(result.remediation).toContain(
      `An organization owner uninstalls the GitHub App docs-bot from acme, or narrows its repository access, in Settings → GitHub Apps → docs-bot → Configure (installation ${docsBot.id})`,
    );
    expect(writes()).toEqual([]);

    sandbox.state.cicd.apps.delete(docsBot.id);
    expect(await connector.check(grant)).toMatchObject({ status: 'absent' });
    expect(await connector.revoke(grant)).toMatchObject({
      outcome: 'already_absent',
      action: 'GET /orgs/acme/installations: app docs-bot is not installed on acme; nothing to remove',
    });
  });

  it('keeps a remediation open while the app holds what was reviewed, even with more; closes it once narrowed', async () => {
    const grant = findGrant(grants, 'organization acme docs-bot pages:write direct');
    const app = installationOf(sandbox.state, 'docs-bot');
    // Widened since the review: the reviewed access is still there, and a new grant reviews the rest.
    app.permissions = { pages: 'write', contents: 'write' };
    expect(await connector.check(grant)).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'contents:write, pages:write' }],
    });
    const revoked = await connector.revoke(grant);
    expect(revoked.outcome).toBe('remediation_required');
    expect(revoked.action).toContain('(it now holds contents:write, pages:write)');
    const after = (await collect(connector.snapshot())).filter(
      (item) => item.grantKind === 'app_installation',
    );
    expect(after.map(line)).toContain('organization acme docs-bot contents:write, pages:write direct');
    // Suspended: still installed, and an owner can resume it at any time.
    app.suspendedAt = '2026-11-30T00:00:00Z';
    expect(await connector.check(grant)).toMatchObject({
      status: 'present',
      paths: [{ via: 'direct', permission: 'contents:write, pages:write (suspended)' }],
    });
    app.suspendedAt = null;
    // Narrowed below what was reviewed (pages only readable): the reviewed access is gone.
    app.permissions = { pages: 'read', contents: 'write' };
    expect(await connector.check(grant)).toMatchObject({ status: 'absent' });
    expect(writes()).toEqual([]);
  });
});
