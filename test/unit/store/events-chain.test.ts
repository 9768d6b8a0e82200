import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type CampaignEvent,
  canonicalJson,
  type EventType,
  eventHash,
  GENESIS_HASH,
  verifyChain,
} from '../../../functions/store/events';

/*
 * The hash chain is what an auditor recomputes: every field of an event is covered by its hash,
 * every event names the hash of the one before it, and verifyChain finds the first link that
 * does not hold, whichever way it was broken.
 */
const TYPES: EventType[] = ['campaign_started', 'snapshot_taken', 'decision_recorded', 'campaign_completed'];

/** A well-formed chain of `length` events, hashed as EventLog.append hashes them. */
function chain(length = 4, campaignId = 'c-chain'): CampaignEvent[] {
  const events: CampaignEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= length; seq++) {
    const partial = {
      campaignId,
      seq,
      type: TYPES[(seq - 1) % TYPES.length]!,
      at: new Date(Date.UTC(2026, 9, 1, 9, seq)).toISOString(),
      data: { seq, note: `event ${seq}` },
      prevHash,
    };
    const event = { ...partial, hash: eventHash(partial) };
    events.push(event);
    prevHash = event.hash;
  }
  return events;
}

/** `event` with `change` applied and its own hash recomputed, as a forger who knows the scheme would. */
function rehashed(event: CampaignEvent, change: Partial<CampaignEvent>): CampaignEvent {
  const { hash: _old, ...rest } = { ...event, ...change };
  return { ...rest, hash: eventHash(rest) };
}

describe('eventHash', () => {
  it('is SHA-256 of the previous hash, a newline and the canonical JSON of the event', () => {
    const [first] = chain(1);
    const { campaignId, seq, type, at, data } = first!;
    const expected = createHash('sha256')
      .update(`${GENESIS_HASH}\n${canonicalJson({ campaignId, seq, type, at, data })}`)
      .digest('hex');
    expect(first!.hash).toBe(expected);
    expect(GENESIS_HASH).toBe('0'.repeat(64));
  });

  it('covers every field: campaign, sequence number, type, time, data and the previous hash', () => {
    const [, event] = chain(2);
    const { hash, ...partial } = event!;
    expect(eventHash(partial)).toBe(hash);
    const changes: Array<Partial<CampaignEvent>> = [
      { campaignId: 'c-other' },
      { seq: 3 },
      { type: 'campaign_completed' },
      { at: '2026-10-01T09:02:00.001Z' },
      { at: '2027-10-01T09:02:00.000Z' },
      { data: { ...partial.data, note: 'edited' } },
      { data: { ...partial.data, extra: true } },
      { prevHash: GENESIS_HASH },
    ];
    for (const change of changes) {
      expect(eventHash({ ...partial, ...change }), JSON.stringify(change)).not.toBe(hash);
    }
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined values, so key order never changes a hash', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: null }], c: undefined } })).toBe(
      '{"a":{"d":[2,{"y":null,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson('text')).toBe('"text"');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson({ B: 1, a: 2, _: 3 })).toBe('{"B":1,"_":3,"a":2}');
  });
});

describe('verifyChain', () => {
  it('accepts an intact chain and returns its head and length', () => {
    const events = chain(4);
    expect(verifyChain(events)).toEqual({ ok: true, head: events[3]!.hash, length: 4 });
    expect(verifyChain([])).toEqual({ ok: true, head: GENESIS_HASH, length: 0 });
  });

  it('finds an event whose time was changed after it was written', () => {
    const events = chain(4);
    const altered = events.map((event) =>
      event.seq === 2 ? { ...event, at: '2026-12-31T23:59:59.000Z' } : event,
    );
    expect(verifyChain(altered)).toEqual({ ok: false, seq: 2, reason: 'hash does not match content' });
  });

  it('finds an event re-hashed with another previous hash (the link to the event before it is broken)', () => {
    const events = chain(4);
    // Event 3 is consistent with itself, but does not follow event 2.
    const forged = events.map((event) =>
      event.seq === 3 ? rehashed(event, { prevHash: createHash('sha256').update('x').digest('hex') }) : event,
    );
    expect(verifyChain(forged)).toEqual({ ok: false, seq: 3, reason: 'prevHash does not match' });
  });

  it('finds a first event that does not start from the genesis hash', () => {
    const events = chain(1);
    const forged = [rehashed(events[0]!, { prevHash: 'f'.repeat(64) })];
    expect(verifyChain(forged)).toEqual({ ok: false, seq: 1, reason: 'prevHash does not match' });
  });

  it('finds an event spliced in from another campaign chain at the same position', () => {
    const ours = chain(3, 'c-ours');
    const theirs = chain(3, 'c-theirs');
    const spliced = [ours[0]!, theirs[1]!, ours[2]!];
    expect(verifyChain(spliced)).toEqual({ ok: false, seq: 2, reason: 'prevHash does not match' });
  });

  it('finds a dropped, repeated or reordered event by its sequence number', () => {
    const events = chain(4);
    expect(verifyChain([events[0]!, events[2]!, events[3]!])).toEqual({
      ok: false,
      seq: 3,
      reason: 'expected seq 2',
    });
    expect(verifyChain([events[0]!, events[0]!])).toEqual({ ok: false, seq: 1, reason: 'expected seq 2' });
    expect(verifyChain([events[1]!, events[0]!])).toEqual({ ok: false, seq: 2, reason: 'expected seq 1' });
  });

  it('finds an event dropped from the middle and the rest renumbered and re-hashed from there', () => {
    const events = chain(4);
    // A forger removes event 2, renumbers 3 and 4 and recomputes their hashes, but cannot make
    // the new event 2 follow the real event 1 without rewriting its prevHash too.
    const renumbered = [
      events[0]!,
      rehashed(events[2]!, { seq: 2 }),
      rehashed(events[3]!, { seq: 3, prevHash: rehashed(events[2]!, { seq: 2 }).hash }),
    ];
    expect(verifyChain(renumbered)).toEqual({ ok: false, seq: 2, reason: 'prevHash does not match' });
  });
});
