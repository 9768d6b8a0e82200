import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GrantKey, makeGrant } from '../../../functions/core/grant';
import type { Decision } from '../../../functions/store/decisions';
import type { StoredGrant } from '../../../functions/store/grants';
import {
  emptyHistoryStats,
  type HistoryEntry,
  HistoryKeyMismatchError,
  type HistoryQuery,
  queryHistory,
  reindexCampaign,
} from '../../../functions/store/history';
import { createStore, type Store } from '../../../functions/store/index';
import { withoutKeys } from '../../../functions/store/query';
import { keys } from '../../../functions/store/table';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { createTestCampaign, startTestStore } from '../../support/local-store';

/**
 * The principal and resource history against dynalite with the table the stack synthesizes: one
 * Query on gsi2 or gsi3 returns each grant of each campaign with its decision and outcomes.
 */
let dynamo: LocalDynamo;
let store: Store;
const Q1 = { id: 'c-2026-q1', at: new Date('2026-01-01T09:00:00Z') };
const Q2 = { id: 'c-2026-q2', at: new Date('2026-04-01T09:00:00Z') };

function stored(
  campaign: { id: string; at: Date },
  key: Partial<GrantKey> & { principal: string },
  holder?: string,
) {
  const grant = makeGrant(
    {
      connector: 'github',
      grantKind: 'user_repository',
      resourceType: 'repository',
      resource: 'acme/api',
      principalType: 'user',
      entitlement: 'write',
      via: { kind: 'direct' },
      ...key,
    },
    holder ? { holder } : {},
  );
  return {
    ...grant,
    campaignId: campaign.id,
    snapshotAt: new Date(campaign.at.getTime() + 60_000).toISOString(),
  };
}

function decision(grant: StoredGrant, value: 'keep' | 'revoke', justification?: string): Decision {
  return {
    campaignId: grant.campaignId,
    grantId: grant.grantId,
    decision: value,
    reviewer: 'bob',
    decidedBySlackUserId: 'U0BOB0001',
    decidedAt: new Date(Date.parse(grant.snapshotAt) + 3_600_000).toISOString(),
    channel: 'slack',
    ...(justification ? { justification } : {}),
  };
}

const aliceQ1 = stored(Q1, { principal: 'alice' });
const aliceQ2 = stored(Q2, { principal: 'alice' });
const aliceWebQ1 = stored(Q1, { principal: 'alice', resource: 'acme/web', entitlement: 'admin' });
const bobQ2 = stored(Q2, { principal: 'bob' });
const tokenQ2 = stored(
  Q2,
  {
    principal: 'token 77',
    principalType: 'personal_access_token',
    grantKind: 'personal_access_token',
    resource: 'acme',
    resourceType: 'organization',
  },
  'alice',
);
const awsQ2 = stored(Q2, {
  connector: 'aws',
  grantKind: 'secret_read',
  resourceType: 'aws_secret',
  resource: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/DB-AbCdEf',
  principalType: 'iam_role',
  principal: 'arn:aws:iam::111122223333:role/Deploy',
  entitlement: 'read',
  via: { kind: 'resource_policy' },
});
const staleQ2 = { ...stored(Q2, { principal: 'alice', entitlement: 'admin' }), stale: true };

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('history-test'));
  for (const campaign of [Q1, Q2]) await createTestCampaign(store, campaign.id, 'completed', campaign.at);
  await store.grants.putMany([aliceQ1, aliceWebQ1]);
  await store.grants.putMany([aliceQ2, bobQ2, tokenQ2, awsQ2, staleQ2]);
  await store.decisions.record(decision(aliceQ1, 'keep', 'Still needed'), aliceQ1);
  await store.decisions.record(decision(aliceWebQ1, 'revoke'), aliceWebQ1);
  await store.outcomes.beginRevocation(Q1.id, aliceWebQ1.grantId, '2026-01-02T10:00:00.000Z', aliceWebQ1);
  await store.outcomes.finishRevocation({
    campaignId: Q1.id,
    grantId: aliceWebQ1.grantId,
    status: 'removed',
    at: '2026-01-02T10:00:01.000Z',
    action: 'DELETE /repos/acme/web/collaborators/alice',
  });
  await store.outcomes.recordVerification(
    {
      campaignId: Q1.id,
      grantId: aliceWebQ1.grantId,
      status: 'absent',
      checkedAt: '2026-01-02T10:05:00.000Z',
      paths: [],
    },
    aliceWebQ1,
  );
  await store.decisions.record(decision(aliceQ2, 'revoke'), aliceQ2);
  await store.outcomes.recordNotApplied(
    {
      campaignId: Q2.id,
      grantId: aliceQ2.grantId,
      status: 'rejected',
      at: '2026-04-02T10:00:00.000Z',
      action: 'not revoked',
    },
    aliceQ2,
  );
});

afterAll(async () => {
  await dynamo?.close();
});

async function history(query: HistoryQuery, onCommand?: (action: string) => void) {
  const table = onCommand ? dynamo.recordingTable(onCommand) : dynamo.table;
  const stats = emptyHistoryStats();
  const entries: HistoryEntry[] = [];
  for await (const entry of queryHistory(table, query, stats)) entries.push(entry);
  return { entries, stats };
}

const summary = (e: HistoryEntry) =>
  `${e.campaignId} ${e.grant.resource} ${e.grant.entitlement} ${e.decision?.decision ?? '-'} ${e.revocation?.status ?? '-'} ${e.verification?.status ?? '-'}`;

describe('history by principal', () => {
  it('returns every grant of every campaign with who decided, why, and what was done, in one Query', async () => {
    const actions: string[] = [];
    const { entries, stats } = await history({ by: 'principal', name: 'alice' }, (a) => actions.push(a));
    expect(actions).toEqual(['Query']);
    // Campaign by campaign in snapshot order; grant-id order within a campaign.
    const byId = (x: StoredGrant, y: StoredGrant) => (x.grantId < y.grantId ? -1 : 1);
    expect(entries.map((e) => e.grant.grantId)).toEqual([
      ...[aliceQ1, aliceWebQ1].sort(byId).map((g) => g.grantId),
      ...[aliceQ2, tokenQ2].sort(byId).map((g) => g.grantId),
    ]);
    const found = new Map(entries.map((e) => [`${e.campaignId}/${e.grant.grantId}`, e]));
    expect(summary(found.get(`${aliceQ1.campaignId}/${aliceQ1.grantId}`)!)).toBe(
      'c-2026-q1 acme/api write keep - -',
    );
    expect(summary(found.get(`${aliceWebQ1.campaignId}/${aliceWebQ1.grantId}`)!)).toBe(
      'c-2026-q1 acme/web admin revoke removed absent',
    );
    expect(summary(found.get(`${aliceQ2.campaignId}/${aliceQ2.grantId}`)!)).toBe(
      'c-2026-q2 acme/api write revoke rejected -',
    );
    expect(found.get(`${aliceQ1.campaignId}/${aliceQ1.grantId}`)?.decision).toMatchObject({
      reviewer: 'bob',
      justification: 'Still needed',
    });
    expect(found.get(`${aliceQ1.campaignId}/${aliceQ1.grantId}`)?.decision).not.toHaveProperty('gsi2pk');
    expect(found.get(`${aliceWebQ1.campaignId}/${aliceWebQ1.grantId}`)?.revocation?.action).toBe(
      'DELETE /repos/acme/web/collaborators/alice',
    );
    // The token alice owns is hers; the stale grant an interrupted snapshot left is not.
    expect(found.get(`${tokenQ2.campaignId}/${tokenQ2.grantId}`)?.grant).toMatchObject({
      principal: 'token 77',
      holder: 'alice',
    });
    expect(entries.some((e) => e.grant.grantId === staleQ2.grantId)).toBe(false);
    // Q1: 2 grants, 2 decisions, a revocation, a verification; Q2: 3 grants (one stale), a
    // decision, a revocation.
    expect(stats.items).toBe(11);
  });

  it('reads page after page and gives the same answer', async () => {
    const whole = await history({ by: 'principal', name: 'alice' });
    const actions: string[] = [];
    const paged = await history({ by: 'principal', name: 'alice', pageSize: 2 }, (a) => actions.push(a));
    expect(paged.entries).toEqual(whole.entries);
    expect(paged.stats.pages).toBeGreaterThan(3);
    expect(new Set(actions)).toEqual(new Set(['Query']));
  });

  it('narrows by connector, by date and by campaign; GitHub names without case, AWS names exactly', async () => {
    const since = await history({ by: 'principal', name: 'ALICE', since: '2026-04-01' });
    expect(since.entries.map((e) => e.grant.grantId).sort()).toEqual(
      [aliceQ2.grantId, tokenQ2.grantId].sort(),
    );
    expect(
      (await history({ by: 'principal', name: 'alice', campaignIds: new Set([Q1.id]) })).entries,
    ).toHaveLength(2);
    expect((await history({ by: 'principal', name: 'alice', connector: 'aws' })).entries).toHaveLength(0);
    const role = 'arn:aws:iam::111122223333:role/Deploy';
    expect((await history({ by: 'principal', name: role })).entries.map((e) => e.grant.grantId)).toEqual([
      awsQ2.grantId,
    ]);
    expect((await history({ by: 'principal', name: role.toLowerCase() })).entries).toHaveLength(0);
  });
});

describe('history by resource', () => {
  it('returns every principal that had the resource, campaign by campaign', async () => {
    const { entries } = await history({ by: 'resource', name: 'acme/API' });
    expect(
      entries.map((e) => `${e.campaignId} ${e.grant.principal} ${e.decision?.decision ?? '-'}`).sort(),
    ).toEqual(['c-2026-q1 alice keep', 'c-2026-q2 alice revoke', 'c-2026-q2 bob -']);
    expect(entries[0]?.campaignId).toBe(Q1.id);
  });

  it('refuses history keys of another grant', async () => {
    await expect(store.decisions.record(decision(bobQ2, 'keep'), aliceQ2)).rejects.toThrow(
      HistoryKeyMismatchError,
    );
  });
});

describe('reindex', () => {
  const OLD = { id: 'c-2025-q4', at: new Date('2025-10-01T09:00:00Z') };
  const oldAlice = stored(OLD, { principal: 'alice' });
  const oldCarol = stored(OLD, { principal: 'carol' });

  async function partition(campaignId: string) {
    const result = await dynamo.table.client.send(
      new ScanCommand({
        TableName: dynamo.table.tableName,
        FilterExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.campaign(campaignId) },
      }),
    );
    return (result.Items ?? []).sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
  }

  it('keys a campaign written before the index, without changing what the evidence reads, and only once', async () => {
    // As the previous release wrote it: no history keys anywhere, no mark on the campaign.
    const raw = createStore(dynamo.table);
    await raw.campaigns.create({
      campaignId: OLD.id,
      organization: 'acme',
      status: 'completed',
      trigger: 'test',
      requestedBy: 'vitest',
      executionName: OLD.id,
      startedAt: OLD.at.toISOString(),
      counts: {},
    });
    for (const grant of [oldAlice, oldCarol]) {
      await dynamo.table.client.send(
        new PutCommand({
          TableName: dynamo.table.tableName,
          Item: { pk: keys.campaign(OLD.id), sk: keys.grant(grant.grantId), kind: 'grant', ...grant },
        }),
      );
    }
    await raw.decisions.record(decision(oldAlice, 'revoke'));
    await raw.outcomes.beginRevocation(OLD.id, oldAlice.grantId, '2025-10-02T00:00:00.000Z');
    await raw.decisions.record({ ...decision(oldCarol, 'keep'), grantId: 'g_orphan' });
    await dynamo.table.client.send(
      new PutCommand({
        TableName: dynamo.table.tableName,
        Item: {
          pk: keys.campaign(OLD.id),
          sk: keys.meta,
          kind: 'campaign',
          ...(await raw.campaigns.get(OLD.id)),
          historyIndex: undefined,
        },
      }),
    );
    const before = (await partition(OLD.id)).map((item) => withoutKeys(item));
    expect(
      (await history({ by: 'principal', name: 'alice', campaignIds: new Set([OLD.id]) })).entries,
    ).toEqual([]);

    const first = await reindexCampaign(dynamo.table, OLD.id);
    expect(first).toEqual({ campaignId: OLD.id, grants: 2, alreadyIndexed: 0, written: 4, withoutGrant: 1 });
    const { entries } = await history({ by: 'principal', name: 'alice', campaignIds: new Set([OLD.id]) });
    expect(entries.map(summary)).toEqual(['c-2025-q4 acme/api write revoke pending -']);
    const after = (await partition(OLD.id)).map((item) => withoutKeys(item));
    expect(after.filter((item) => item.kind !== 'campaign')).toEqual(
      before.filter((item) => item.kind !== 'campaign'),
    );
    expect((await store.campaigns.get(OLD.id)).historyIndex).toBe(1);

    const second = await reindexCampaign(dynamo.table, OLD.id);
    expect(second).toEqual({ campaignId: OLD.id, grants: 2, alreadyIndexed: 4, written: 0, withoutGrant: 1 });
  });

  it('writes nothing on a campaign this release wrote', async () => {
    const result = await reindexCampaign(dynamo.table, Q1.id);
    // alice's two grants, both decisions, the revocation and its verification.
    expect(result).toMatchObject({ grants: 2, written: 0, alreadyIndexed: 6 });
  });
});
