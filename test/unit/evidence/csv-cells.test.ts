import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isNeutralisedCell,
  neutraliseCell,
  neutraliseRow,
  restoreCell,
} from '../../../functions/evidence/csv-cells';

const TRIGGERS = ['=', '+', '-', '@', '\t', '\r'];
/** Strings that often begin with what the rule is about. */
const value = fc.oneof(
  fc.string(),
  fc.tuple(fc.constantFrom(...TRIGGERS, "'", "''", "'="), fc.string()).map(([head, tail]) => head + tail),
  fc.constantFrom('=HYPERLINK("http://evil.example","x")', '@SUM(A1)', '-1', "'", ''),
);

describe('CSV cells (formula injection)', () => {
  it('restores every value it neutralises, and no neutralised cell begins with a formula character', () => {
    fc.assert(
      fc.property(value, (text) => {
        const cell = neutraliseCell(text);
        expect(restoreCell(cell)).toBe(text);
        expect(TRIGGERS.includes(cell[0] ?? '')).toBe(false);
        expect(isNeutralisedCell(cell)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('neutralises what would be restored: neutralise∘restore is the identity on written cells', () => {
    fc.assert(
      fc.property(value, (text) => {
        const cell = neutraliseCell(text);
        expect(neutraliseCell(restoreCell(cell))).toBe(cell);
      }),
    );
  });

  it('leaves other cells as they are, and says which cells no export writes', () => {
    expect(neutraliseCell('alice')).toBe('alice');
    expect(neutraliseCell('=HYPERLINK("http://evil.example","x")')).toBe(
      `'=HYPERLINK("http://evil.example","x")`,
    );
    expect(neutraliseCell("'quoted")).toBe("''quoted");
    expect(neutraliseCell('\tx')).toBe("'\tx");
    expect(isNeutralisedCell('=1+1')).toBe(false);
    expect(isNeutralisedCell("'plain")).toBe(false);
    expect(isNeutralisedCell("'=1+1")).toBe(true);
  });

  it('survives a CSV round trip: what csv-parse reads back restores to the row written', () => {
    fc.assert(
      fc.property(fc.array(fc.array(value, { minLength: 3, maxLength: 3 }), { maxLength: 10 }), (rows) => {
        const text = stringify([['a', 'b', 'c'], ...rows.map((row) => neutraliseRow(row))]);
        const read = parse(text, { relax_column_count: false }) as string[][];
        expect(read.slice(1).map((row) => row.map(restoreCell))).toEqual(rows);
      }),
      { numRuns: 300 },
    );
  });

  it('writes every cell as text, booleans and numbers as they always were', () => {
    expect(neutraliseRow([true, false, 3, -2, undefined, null, 'x'])).toEqual([
      'true',
      'false',
      '3',
      "'-2",
      '',
      '',
      'x',
    ]);
  });
});
