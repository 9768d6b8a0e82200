import type { ReadStream } from 'node:fs';
import { type FileHandle, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { AccessReviewError } from '../../core/errors';
import { parseJsonRecord } from '../../core/records';
import { restoreCell } from '../csv-cells';

/**
 * A file the report is built from is missing or cannot be read as its format says. verify-evidence
 * turns this into a finding; the export never meets it (it renders what it has just written).
 */
export class ReportInputError extends AccessReviewError {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`report: ${file}: ${message}`, options);
  }
}

/** A read stream of one of the folder's files, or ReportInputError when it cannot be opened. */
async function openStream(dir: string, file: string): Promise<ReadStream> {
  let handle: FileHandle;
  try {
    handle = await open(join(dir, file), 'r');
  } catch (cause) {
    throw new ReportInputError(file, 'cannot be read', { cause });
  }
  return handle.createReadStream();
}

/** A CSV row with its cells looked up by column name (a missing column reads as ''). */
export type Row = (column: string) => string;

/** summary.json, parsed (prototype keys refused). It is small: counters and one tally per kind. */
export async function readSummary(dir: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(join(dir, 'summary.json'), 'utf8');
  } catch (cause) {
    throw new ReportInputError('summary.json', 'cannot be read', { cause });
  }
  let value: unknown;
  try {
    value = parseJsonRecord(text, 'summary.json');
  } catch (cause) {
    throw new ReportInputError('summary.json', 'is not a JSON object', { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ReportInputError('summary.json', 'is not a JSON object');
  }
  return value as Record<string, unknown>;
}

/**
 * Each data row of a CSV, one at a time, so a file of a million rows never sits in memory. The
 * header names the columns; the report asks for the columns it knows by name, so a column added
 * later does not move the others.
 */
export async function* csvRows(dir: string, file: string, required: readonly string[]): AsyncGenerator<Row> {
  const source = await openStream(dir, file);
  const parser = source.pipe(parse({ bom: true, relax_column_count: false }));
  // pipe() does not pass a read error on: without this the parser would wait for more forever.
  source.on('error', (cause) => parser.destroy(cause));
  let index: Map<string, number> | undefined;
  let line = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      line += 1;
      if (!index) {
        index = new Map(record.map((name, at) => [name, at]));
        const missing = required.filter((name) => !index?.has(name));
        if (missing.length > 0) throw new ReportInputError(file, `header lacks ${missing.join(', ')}`);
        continue;
      }
      const cells = record;
      const columns = index;
      // The value the cell stands for: the export writes `'=…` so a spreadsheet shows text; a
      // browser shows text anyway, and the reader should see the principal's real name.
      yield (column: string) => {
        const at = columns.get(column);
        return at === undefined ? '' : restoreCell(cells[at] ?? '');
      };
    }
  } catch (cause) {
    if (cause instanceof ReportInputError) throw cause;
    throw new ReportInputError(file, `cannot be read as CSV (after row ${line})`, { cause });
  }
  if (!index) throw new ReportInputError(file, 'is empty (no header)');
}

/** Whether the folder holds `file` (an optional file: signatures.jsonl is absent before signing). */
export async function hasFile(dir: string, file: string): Promise<boolean> {
  try {
    return (await stat(join(dir, file))).isFile();
  } catch {
    return false;
  }
}

/** Each line of a JSON Lines file, parsed (prototype keys refused), with its line number. */
export async function* jsonLines(dir: string, file: string): AsyncGenerator<Record<string, unknown>> {
  const input = await openStream(dir, file);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  try {
    for await (const line of lines) {
      number += 1;
      if (line === '') continue;
      let value: unknown;
      try {
        value = parseJsonRecord(line, `${file} line ${number}`);
      } catch (cause) {
        throw new ReportInputError(file, `line ${number} is not JSON`, { cause });
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new ReportInputError(file, `line ${number} is not a JSON object`);
      }
      yield value as Record<string, unknown>;
    }
  } catch (cause) {
    if (cause instanceof ReportInputError) throw cause;
    throw new ReportInputError(file, 'cannot be read', { cause });
  }
}
