import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { neutraliseRow } from '../../../functions/evidence/csv-cells';
import { EvidenceFileWriter } from '../../../functions/evidence/file-writer';
import { GrantIndex } from '../../../functions/evidence/grant-index';
import { EvidenceOrderError, mergeByGrant } from '../../../functions/evidence/merge';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'evidence-streaming-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cell = fc.oneof(
  fc.string(),
  fc.constantFrom('a,b', 'say "no"', 'two\nlines', 'cr\r\nlf', ' ', ''),
  fc.boolean(),
  fc.integer(),
);

/** Splits a list into pages of random sizes (empty pages included), as DynamoDB may answer. */
function paged<T>(items: T[], cuts: number[]): AsyncIterable<T[]> {
  return (async function* () {
    let start = 0;
    for (const cut of cuts) {
      const end = Math.min(items.length, start + cut);
      yield items.slice(start, end);
      start = end;
    }
    if (start < items.length) yield items.slice(start);
  })();
}

const grantId = fc.stringMatching(/^g_[0-9a-f]{32}$/);

describe('EvidenceFileWriter', () => {
  it('writes, hashes and counts exactly what csv-stringify writes for the whole file at once (cells neutralised)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(cell, { minLength: 3, maxLength: 3 }), { maxLength: 30 }),
        async (rows) => {
          const path = join(dir, `rows-${run++}.csv`);
          const writer = await EvidenceFileWriter.csv(path, ['one', 'two', 'three']);
          for (const row of rows) await writer.write(row);
          const written = await writer.close();
          // Every cell as text through the formula-injection rule, then csv-stringify as before.
          const expected = stringify([['one', 'two', 'three'], ...rows.map((row) => neutraliseRow(row))]);
          const actual = await readFile(path, 'utf8');
          expect(actual).toBe(expected);
          expect(written).toEqual({
            sha256: createHash('sha256').update(expected).digest('hex'),
            bytes: Buffer.byteLength(expected),
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps every row of a file far larger than its stream buffers (backpressure, not loss)', async () => {
    const path = join(dir, 'large.jsonl');
    const writer = EvidenceFileWriter.text(path);
    const line = `${'x'.repeat(1000)}\n`;
    for (let index = 0; index < 2000; index++) await writer.write(line);
    const written = await writer.close();
    expect(written.bytes).toBe(2000 * 1001);
    expect((await readFile(path)).length).toBe(2000 * 1001);
  });
});

describe('mergeByGrant', () => {
  it('yields every grant id of any stream once, in order, with what each stream holds for it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(grantId, { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 5, maxLength: 5 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 20 }),
        async (ids, pick, cuts) => {
          const sorted = [...ids].sort();
          // Each id goes to a subset of the streams chosen from its position.
          const inStream = (stream: number) =>
            sorted.filter((_, index) => (index + (pick[stream] as number)) % (stream + 2) !== 0);
          const records = (stream: number) => inStream(stream).map((id) => ({ grantId: id, stream }));
          const merged = [];
          for await (const group of mergeByGrant({
            grant: paged(records(0), cuts) as never,
            decision: paged(records(1), cuts) as never,
            revocation: paged(records(2), cuts) as never,
            verification: paged(records(3), cuts) as never,
            guardItem: paged(records(4), cuts) as never,
          })) {
            merged.push(group);
          }
          const expected = sorted.filter((id) =>
            [0, 1, 2, 3, 4].some((stream) => inStream(stream).includes(id)),
          );
          expect(merged.map((group) => group.grantId)).toEqual(expected);
          for (const group of merged) {
            const fields = ['grant', 'decision', 'revocation', 'verification', 'guardItem'] as const;
            for (const [stream, field] of fields.entries()) {
              expect(group[field] !== undefined, `${group.grantId} ${field}`).toBe(
                inStream(stream).includes(group.grantId),
              );
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('stops on a stream out of grant-id order instead of joining it wrongly', async () => {
    const unsorted = [{ grantId: 'g_b' }, { grantId: 'g_a' }];
    const empty = paged([], []);
    const merge = mergeByGrant({
      grant: paged(unsorted, [1]) as never,
      decision: empty as never,
      revocation: paged([], []) as never,
      verification: paged([], []) as never,
      guardItem: paged([], []) as never,
    });
    await expect(async () => {
      for await (const _ of merge);
    }).rejects.toThrow(EvidenceOrderError);
  });
});

describe('GrantIndex', () => {
  it('finds the latest entry of each grant, as a Map written in the same order would hold', () => {
    const anyId = fc.oneof(grantId, fc.string({ minLength: 1, maxLength: 6 }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(0, 1, 2, 3, 4, 5), fc.nat()), { maxLength: 60 }),
        fc.array(anyId, { minLength: 6, maxLength: 6 }),
        (entries, ids) => {
          const index = new GrantIndex(2);
          const expected = new Map<string, number[]>();
          for (const [seq, [which, value]] of entries.entries()) {
            const id = ids[which] as string;
            index.add(id, [seq, value]);
            expected.set(id, [seq, value]);
          }
          index.seal();
          for (const id of ids) {
            const entry = index.find(id);
            const want = expected.get(id);
            if (!want) expect(entry).toBe(-1);
            else expect([...index.payloadOf(entry)]).toEqual(want);
          }
          const latest = [...index.latest()];
          expect(latest.map((item) => item.grantId).sort()).toEqual([...expected.keys()].sort());
          for (const item of latest)
            expect([...index.payloadOf(item.entry)]).toEqual(expected.get(item.grantId));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('tells claimed entries from the rest', () => {
    const index = new GrantIndex(1);
    index.add('g_00000000000000000000000000000001', [1]);
    index.add('g_00000000000000000000000000000002', [2]);
    index.seal();
    index.claim(index.find('g_00000000000000000000000000000002'));
    expect([...index.latest()].filter((item) => !item.claimed).map((item) => item.grantId)).toEqual([
      'g_00000000000000000000000000000001',
    ]);
  });
});
