import type { Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvError, parse } from 'csv-parse';
import { isNeutralisedCell, restoreCell } from './csv-cells';
import { EvidenceFileError, type EvidenceFolder, MAX_LINE_BYTES } from './folder';
import type { EvidenceFileName } from './format';

export interface CsvRow {
  /** The cells by column, with the formula-injection rule undone (the values hashes are of). */
  row: Record<string, string>;
  /** The line the record ends on (a quoted cell may span lines). */
  line: number;
}

/**
 * An evidence CSV a row at a time, hashed as it is read. The header must be exactly the format's;
 * a cell no export could have written (one beginning with a formula character, or a `'` the rule
 * does not explain) is reported once per file through `badCell`, and its value is still read as
 * the rule would undo it. A file that is not CSV throws EvidenceFileError with the line.
 */
export async function* csvRows(
  folder: EvidenceFolder,
  name: EvidenceFileName,
  header: readonly string[],
  hash: Hash | undefined,
  badCell?: (line: number, column: string) => void,
): AsyncGenerator<CsvRow> {
  const parser = parse({ info: true, max_record_size: MAX_LINE_BYTES, relax_column_count: false });
  const piped = pipeline(Readable.from(folder.chunks(name, hash)), parser);
  // A read error destroys the parser, so the loop below throws it; this only keeps it handled.
  piped.catch(() => undefined);
  let first = true;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      if (first) {
        first = false;
        if (record.length !== header.length || record.some((cell, i) => cell !== header[i])) {
          throw new EvidenceFileError(
            name,
            info.lines,
            `the header is not the format's (${header.join(',')})`,
          );
        }
        continue;
      }
      const row: Record<string, string> = {};
      for (const [i, column] of header.entries()) {
        const cell = record[i] ?? '';
        if (badCell && !isNeutralisedCell(cell)) badCell(info.lines, column);
        row[column] = restoreCell(cell);
      }
      yield { row, line: info.lines };
    }
    await piped;
  } catch (error) {
    if (error instanceof EvidenceFileError) throw error;
    if (error instanceof CsvError) {
      const line = typeof error.lines === 'number' ? error.lines : undefined;
      throw new EvidenceFileError(name, line, `not valid CSV (${error.code})`, { cause: error });
    }
    throw error;
  }
  if (first) throw new EvidenceFileError(name, 1, 'empty: no header');
}
