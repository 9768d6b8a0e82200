import { once } from 'node:events';
import type { Writable } from 'node:stream';
import Table from 'cli-table3';
import { stringify } from 'csv-stringify';
import { neutraliseRow } from '../../functions/evidence/csv-cells';

export const OUTPUT_FORMATS = ['table', 'csv', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export type CellValue = string | number | boolean | null | undefined | readonly string[];

export interface Column<T> {
  /** The CSV header and JSON key. */
  name: string;
  value: (row: T) => CellValue;
  /** Shown in the terminal table too (the table keeps to what fits a screen; CSV and JSON have all). */
  inTable?: boolean;
}

function text(value: CellValue, separator: string): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.join(separator);
  return String(value);
}

async function write(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

/**
 * Writes rows as they come: CSV (csv-stringify; cells that a spreadsheet would run as a formula
 * neutralised as in the evidence CSVs) and JSON (an array, one object per row, written row by row)
 * stream; the terminal table needs every row for its column widths, so it is for answers that fit
 * a screen. Returns how many rows were written.
 */
export async function writeRows<T>(
  rows: AsyncIterable<T>,
  columns: ReadonlyArray<Column<T>>,
  format: OutputFormat,
  out: Writable,
): Promise<number> {
  let count = 0;
  if (format === 'csv') {
    const csv = stringify({ header: true, columns: columns.map((c) => c.name) });
    csv.on('data', (chunk: Buffer) => out.write(chunk));
    const done = once(csv, 'end');
    for await (const row of rows) {
      count++;
      const cells = neutraliseRow(columns.map((c) => text(c.value(row), ';')));
      if (!csv.write(cells)) await once(csv, 'drain');
    }
    csv.end();
    await done;
    return count;
  }
  if (format === 'json') {
    await write(out, '[');
    for await (const row of rows) {
      const object: Record<string, unknown> = {};
      for (const c of columns) {
        const value = c.value(row);
        object[c.name] = value === undefined || value === '' ? null : value;
      }
      await write(out, `${count === 0 ? '\n' : ',\n'}  ${JSON.stringify(object)}`);
      count++;
    }
    await write(out, count === 0 ? ']\n' : '\n]\n');
    return count;
  }
  const shown = columns.filter((c) => c.inTable);
  const table = new Table({ head: shown.map((c) => c.name), style: { head: [], border: [] } });
  for await (const row of rows) {
    count++;
    table.push(shown.map((c) => text(c.value(row), '\n')));
  }
  if (count > 0) await write(out, `${table.toString()}\n`);
  return count;
}
