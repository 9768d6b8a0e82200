import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CampaignEvent,
  EventChainContentionError,
  EventLog,
  GENESIS_HASH,
  linkToEvent,
  verifyChain,
} from '../../../functions/store/events';
import type { Store } from '../../../functions/store/index';
import { queryAll } from '../../../functions/store/query';
import type { TableRef } from '../../../functions/store/table';
import { keys } from '../../../functions/store/table';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { createTestCampaign, startTestStore } from '../../support/local-store';

/*
 * The event log and the links from decisions and revocations to their events, against dynalite:
 * a link is set once (a retry or Finalize's recovery never moves it), and only on an item that
 * exists.
 */
let dynamo: LocalDynamo;
let store: Store;
const at = new Date('2026-10-01T09:00:00Z');

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('events-link'));
});

afterAll(async () => {
  await dynamo?.close();
});

async function decided(campaignId: string, grantId: string) {
  await store.decisions.record({
    campaignId,
    grantId,
    decision: 'revoke',
    reviewer: 'alice',
    decidedBySlackUserId: 'U0ALICE01',
    decidedAt: at.toISOString(),
    channel: 'slack',
  });
}

describe('linkToEvent', () => {
  it('links a decision to its event once: a second link leaves the first in place', async () => {
    await createTestCampaign(store, 'c-link', 'in_review', at);
    await decided('c-link', 'g_1');
    await linkToEvent(dynamo.table, 'c-link', keys.decision('g_1'), 3);
    expect((await store.decisions.get('c-link', 'g_1'))?.eventSeq).toBe(3);
    // A retry (or a recovery) that appended a second event must not move the link.
    await expect(linkToEvent(dynamo.table, 'c-link', keys.decision('g_1'), 9)).resolves.toBeUndefined();
    await store.decisions.linkEvent('c-link', 'g_1', 12);
    expect((await store.decisions.get('c-link', 'g_1'))?.eventSeq).toBe(3);
  });

  it('links revocations and verifications once too', async () => {
    await createTestCampaign(store, 'c-link-outcomes', 'revoking', at);
    await store.outcomes.beginRevocation('c-link-outcomes', 'g_2', at.toISOString());
    await store.outcomes.linkEvent('revocation', 'c-link-outcomes', 'g_2', 5);
    await store.outcomes.linkEvent('revocation', 'c-link-outcomes', 'g_2', 6);
    expect((await store.outcomes.getRevocation('c-link-outcomes', 'g_2'))?.eventSeq).toBe(5);
    await store.outcomes.recordVerification({
      campaignId: 'c-link-outcomes',
      grantId: 'g_2',
      status: 'absent',
      checkedAt: at.toISOString(),
      paths: [],
    });
    await store.outcomes.linkEvent('verification', 'c-link-outcomes', 'g_2', 7);
    await store.outcomes.linkEvent('verification', 'c-link-outcomes', 'g_2', 8);
    const [verification] = await store.outcomes.listVerifications('c-link-outcomes');
    expect(verification?.eventSeq).toBe(7);
  });

  it('creates nothing when the item does not exist', async () => {
    await createTestCampaign(store, 'c-link-missing', 'in_review', at);
    const before = await queryAll(dynamo.table, keys.campaign('c-link-missing'), '');
    await expect(
      linkToEvent(dynamo.table, 'c-link-missing', keys.decision('g_none'), 4),
    ).resolves.toBeUndefined();
    expect(await store.decisions.get('c-link-missing', 'g_none')).toBeUndefined();
    expect(await queryAll(dynamo.table, keys.campaign('c-link-missing'), '')).toEqual(before);
  });

  it('passes on a failure that is not the set-once condition', async () => {
    const broken = { ...dynamo.table, tableName: 'no-such-table' };
    await expect(linkToEvent(broken, 'c-link', keys.decision('g_1'), 4)).rejects.toThrow();
  });
});

describe('EventLog', () => {
  it('appends a chain that starts at genesis, covers each event time, and reads back as written', async () => {
    await createTestCampaign(store, 'c-log', 'snapshotting', at);
    const first = await store.events.append('c-log', 'campaign_started', { by: 'vitest' }, at);
    const later = new Date(at.getTime() + 60_000);
    const second = await store.events.append('c-log', 'snapshot_taken', { grants: 2 }, later);
    expect(first).toMatchObject({ seq: 1, prevHash: GENESIS_HASH, at: at.toISOString() });
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash, at: later.toISOString() });
    const events = await store.events.list('c-log');
    expect(events).toEqual([first, second]);
    expect(await store.events.head('c-log')).toEqual(second);
    expect(verifyChain(events)).toEqual({ ok: true, head: second.hash, length: 2 });
    // The stored time is part of the hash: moving it breaks the chain at that event.
    const moved: CampaignEvent[] = events.map((e) => (e.seq === 2 ? { ...e, at: at.toISOString() } : e));
    expect(verifyChain(moved)).toEqual({ ok: false, seq: 2, reason: 'hash does not match content' });
  });

  it('writes a once-per-campaign event once and finds it again', async () => {
    await createTestCampaign(store, 'c-once', 'snapshotting', at);
    const first = await store.events.appendOnce('c-once', 'snapshot_taken', { n: 1 }, at);
    const again = await store.events.appendOnce('c-once', 'snapshot_taken', { n: 2 }, at);
    expect(again).toEqual(first);
    expect(await store.events.findFirst('c-once', 'snapshot_taken')).toEqual(first);
    expect(await store.events.findFirst('c-once', 'campaign_completed')).toBeUndefined();
    expect(await store.events.head('c-none')).toBeUndefined();
    expect(await store.events.list('c-once')).toHaveLength(1);
  });

  it('stores events as event items, and appends with a single attempt allowed', async () => {
    await createTestCampaign(store, 'c-kind', 'snapshotting', at);
    const event = await new EventLog(dynamo.table, 1).append('c-kind', 'campaign_started', {}, at);
    expect(event.seq).toBe(1);
    const items = await queryAll(dynamo.table, keys.campaign('c-kind'), 'EVENT#');
    expect(items.map((item) => [item.kind, item.seq])).toEqual([['event', 1]]);
  });

  it('returns its own event when the answer to its put was lost and the retried put finds it', async () => {
    await createTestCampaign(store, 'c-lost', 'snapshotting', at);
    // The SDK's retry of a put whose first answer never arrived: the first put went through.
    let lost = false;
    const client = {
      send: async (command: unknown) => {
        if (command instanceof PutCommand && !lost) {
          lost = true;
          await dynamo.table.client.send(command);
        }
        return dynamo.table.client.send(command as PutCommand);
      },
    } as unknown as TableRef['client'];
    const log = new EventLog({ ...dynamo.table, client }, 3);
    const event = await log.append('c-lost', 'campaign_started', { by: 'vitest' }, at);
    expect(lost).toBe(true);
    expect(event.seq).toBe(1);
    expect(await store.events.list('c-lost')).toEqual([event]);
  });

  it('passes on a failed put that is not a lost race, instead of retrying it', async () => {
    await createTestCampaign(store, 'c-too-big', 'snapshotting', at);
    const log = new EventLog(dynamo.table, 3);
    // DynamoDB refuses items over 400 KB: a validation error, not a conditional check.
    const refused = log.append('c-too-big', 'campaign_started', { blob: 'x'.repeat(500_000) }, at);
    await expect(refused).rejects.toThrow();
    await expect(refused).rejects.not.toBeInstanceOf(EventChainContentionError);
    expect(await store.events.list('c-too-big')).toEqual([]);
  });

  it('gives up with a contention error when every attempt loses the race', async () => {
    await createTestCampaign(store, 'c-contended', 'snapshotting', at);
    const conditional = Object.assign(new Error('The conditional request failed'), {
      name: 'ConditionalCheckFailedException',
    });
    const client = {
      send: async (command: unknown) => {
        if (command instanceof PutCommand) throw conditional;
        return dynamo.table.client.send(command as PutCommand);
      },
    } as unknown as TableRef['client'];
    const log = new EventLog({ ...dynamo.table, client }, 2);
    await expect(log.append('c-contended', 'campaign_started', {}, at)).rejects.toThrow(
      new EventChainContentionError(
        'could not append campaign_started to campaign c-contended after 2 attempts',
      ),
    );
  });
});
