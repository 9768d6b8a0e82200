import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connector } from '../../../functions/connectors/connector';
import type { Grant } from '../../../functions/core/grant';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import type { GitHubState, OrganizationInput } from '../../../sandbox/github/state';
import { closeChecked, findGrant, line, rest, snapshotSandbox, startSandbox, writeRequests } from './helpers';

const organization: OrganizationInput = {
  login: 'acme',
  members: [{ login: 'alice', role: 'owner' }, { login: 'bob' }],
  repositories: [{ name: 'api' }, { name: 'web' }],
  personalAccessTokens: [
    {
      owner: 'bob',
      name: 'release-bot',
      permissions: { organization: { members: 'read' }, repository: { contents: 'write', metadata: 'read' } },
      repositories: ['api'],
      lastUsedAt: '2026-10-01T00:00:00Z',
    },
    {
      owner: 'alice',
      name: 'laptop',
      permissions: { repository: { issues: 'read' } },
      repositorySelection: 'all',
      expiresAt: '2027-06-01T00:00:00Z',
    },
  ],
};

let sandbox: GitHubSandbox;
let connector: Connector;
let grants: Grant[];

beforeEach(async () => {
  ({ sandbox, connector, grants } = await snapshotSandbox(organization, ['personal_access_token']));
});
afterEach(() => closeChecked(sandbox));

const writes = () =>
  writeRequests(sandbox).map(
    (request) => `${request.method} ${request.path} ${JSON.stringify(request.body)}`,
  );

function tokenNamed(state: GitHubState, name: string) {
  const token = [...state.cicd.personalAccessTokens.values()].find((candidate) => candidate.name === name);
  if (!token) throw new Error(`no token ${name}`);
  return token;
}

describe('fine-grained personal access tokens', () => {
  it('reports one grant per approved token, held by its owner, with merged permissions', () => {
    const bot = tokenNamed(sandbox.state, 'release-bot');
    const laptop = tokenNamed(sandbox.state, 'laptop');
    expect(
      grants.map((grant) => `${line(grant)} holder=${grant.holder} [${grant.flags.join(',')}]`).sort(),
    ).toEqual(
      [
        `organization acme alice's token ${laptop.id} (laptop) repo.issues:read direct holder=alice []`,
        `organization acme bob's token ${bot.id} (release-bot) org.members:read, repo.contents:write, repo.metadata:read direct holder=bob [no_expiry]`,
      ].sort(),
    );
    expect(grants.find((grant) => grant.holder === 'bob')?.raw).toEqual({
      patId: bot.id,
      tokenId: bot.tokenId,
      tokenName: 'release-bot',
      owner: 'bob',
      repositorySelection: 'subset',
      accessGrantedAt: '2026-01-10T00:00:00Z',
      expiresAt: null,
      expired: false,
      lastUsedAt: '2026-10-01T00:00:00Z',
    });
  });

  it("revokes the token's access to the org with POST {action: revoke}", async () => {
    const bot = tokenNamed(sandbox.state, 'release-bot');
    const grant = findGrant(
      grants,
      `organization acme bob's token ${bot.id} (release-bot) org.members:read, repo.contents:write, repo.metadata:read direct`,
    );
    expect(await connector.check(grant)).toMatchObject({ status: 'present' });
    const result = await connector.revoke(grant);
    expect(result).toMatchObject({
      outcome: 'removed',
      action: `POST /orgs/acme/personal-access-tokens/${bot.id} {"action":"revoke"}: revoked bob's token "release-bot" (token ${bot.tokenId}) from acme`,
    });
    expect(writes()).toEqual([`POST /orgs/acme/personal-access-tokens/${bot.id} {"action":"revoke"}`]);
    expect(sandbox.state.cicd.personalAccessTokens.has(bot.id)).toBe(false);
    expect(await connector.check(grant)).toMatchObject({ status: 'absent' });

    sandbox.requests.length = 0;
    expect(await connector.revoke(grant)).toMatchObject({ outcome: 'already_absent' });
    expect(writes()).toEqual([]);
  });

  it('takes the id from the principal when raw does not carry it, and an unknown id is already absent', async () => {
    const laptop = tokenNamed(sandbox.state, 'laptop');
    const grant = grants.find((candidate) => candidate.holder === 'alice');
    if (!grant) throw new Error('no laptop grant');
    expect(await connector.revoke({ ...grant, raw: {} })).toMatchObject({ outcome: 'removed' });
    expect(writes()).toEqual([`POST /orgs/acme/personal-access-tokens/${laptop.id} {"action":"revoke"}`]);

    const unknown = { ...grant, principal: "alice's token 999999 (gone)", raw: {} };
    expect(await connector.revoke(unknown)).toMatchObject({ outcome: 'already_absent' });
    expect(await connector.check(unknown)).toMatchObject({ status: 'absent' });
  });
});

describe('personal access token sandbox answers', () => {
  let raw: GitHubSandbox;
  beforeEach(async () => {
    raw = await startSandbox(organization);
  });
  afterEach(() => closeChecked(raw));

  const call = (method: string, path: string, body?: unknown) => rest(raw, method, path, body);

  it('404 for an unknown token, 422 for another action, repositories by selection', async () => {
    const bot = tokenNamed(raw.state, 'release-bot');
    const laptop = tokenNamed(raw.state, 'laptop');
    expect(
      (await call('POST', '/orgs/acme/personal-access-tokens/999999', { action: 'revoke' })).status,
    ).toBe(404);
    expect(
      (await call('POST', `/orgs/acme/personal-access-tokens/${bot.id}`, { action: 'approve' })).status,
    ).toBe(422);
    expect(raw.state.cicd.personalAccessTokens.has(bot.id)).toBe(true);
    const names = async (id: number) =>
      (
        (await (await call('GET', `/orgs/acme/personal-access-tokens/${id}/repositories`)).json()) as Array<{
          name: string;
        }>
      ).map((repository) => repository.name);
    expect(await names(bot.id)).toEqual(['api']);
    expect(await names(laptop.id)).toEqual(['api', 'web']);
    expect((await call('GET', '/orgs/acme/personal-access-tokens/999999/repositories')).status).toBe(404);
  });
});
