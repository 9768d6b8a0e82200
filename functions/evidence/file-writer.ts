import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { PassThrough, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { neutraliseRow } from './csv-cells';

export interface WrittenFile {
  sha256: string;
  bytes: number;
}

/**
 * One evidence file written as it is produced: rows go through csv-stringify (or lines as they
 * are) to the file with backpressure, and the SHA-256 and size for the manifest are taken from
 * the same bytes on their way out, so no file is ever held whole.
 */
export class EvidenceFileWriter {
  private readonly input: Writable;
  private readonly done: Promise<void>;
  private readonly digest = createHash('sha256');
  private bytes = 0;

  private constructor(path: string, input: Writable & NodeJS.ReadableStream) {
    this.input = input;
    const measure = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.digest.update(chunk);
        this.bytes += chunk.length;
        callback(null, chunk);
      },
    });
    this.done = pipeline(input, measure, createWriteStream(path));
    // A failure is reported by close() (or by the write waiting on it), never as an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** A CSV file whose first row is `header`. */
  static async csv(path: string, header: readonly string[]): Promise<EvidenceFileWriter> {
    const writer = new EvidenceFileWriter(path, stringify());
    await writer.write([...header]);
    return writer;
  }

  /** A file of text written as given (JSON lines, a JSON document). */
  static text(path: string): EvidenceFileWriter {
    return new EvidenceFileWriter(path, new PassThrough());
  }

  /**
   * A CSV row (an array of cells) or a piece of text; waits while the file is behind. Every CSV
   * cell is written as text (booleans `true` / `false`, as the files always had them) through the
   * formula-injection rule of csv-cells.ts, the one place evidence CSVs are written.
   */
  async write(chunk: unknown[] | string): Promise<void> {
    if (!this.input.write(typeof chunk === 'string' ? chunk : neutraliseRow(chunk))) {
      await Promise.race([once(this.input, 'drain'), this.done]);
    }
  }

  async close(): Promise<WrittenFile> {
    this.input.end();
    await this.done;
    return { sha256: this.digest.digest('hex'), bytes: this.bytes };
  }
}
