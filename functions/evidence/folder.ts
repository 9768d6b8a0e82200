import { constants } from 'node:fs';
import { type FileHandle, lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { AccessReviewError } from '../core/errors';
import type { EvidenceFileName, MANIFEST_FILE } from './format';

/** A problem with one file of the folder, said with the file (and the line, when there is one). */
export class EvidenceFileError extends AccessReviewError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}${line === undefined ? '' : ` line ${line}`}: ${problem}`, options);
  }
}

/** What kind of thing is at a path, in words, for a finding. */
function kindOf(stats: { isSymbolicLink(): boolean; isDirectory(): boolean }): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/**
 * The evidence folder as verify-evidence reads it: only the format's own names, joined to the
 * folder (never a name from the manifest), and only regular files. Each open refuses a symbolic
 * link at the last moment (O_NOFOLLOW) as well, so a file swapped for a link after the first look
 * is still not followed.
 */
export class EvidenceFolder {
  constructor(readonly dir: string) {}

  /** undefined when the file is there and regular; otherwise the problem, in words. */
  async problemWith(name: EvidenceFileName | typeof MANIFEST_FILE): Promise<string | undefined> {
    try {
      const stats = await lstat(join(this.dir, name));
      return stats.isFile() ? undefined : `${kindOf(stats)}, not read`;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? 'missing' : `cannot be read (${code ?? String(error)})`;
    }
  }

  async open(name: EvidenceFileName | typeof MANIFEST_FILE): Promise<FileHandle> {
    let handle: FileHandle;
    try {
      handle = await open(join(this.dir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new EvidenceFileError(
        name,
        undefined,
        code === 'ENOENT'
          ? 'missing'
          : code === 'ELOOP'
            ? 'a symbolic link, not read'
            : `cannot be read (${code})`,
        { cause: error },
      );
    }
    const stats = await handle.stat();
    if (!stats.isFile()) {
      await handle.close();
      throw new EvidenceFileError(name, undefined, `${kindOf(stats)}, not read`);
    }
    return handle;
  }

  /** The file's bytes as they are read, each chunk also into `hash` (the manifest's check). */
  async *chunks(name: EvidenceFileName, hash?: { update(chunk: Buffer): unknown }): AsyncGenerator<Buffer> {
    const handle = await this.open(name);
    try {
      for await (const chunk of handle.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) {
        hash?.update(chunk as Buffer);
        yield chunk as Buffer;
      }
    } catch (error) {
      if (error instanceof EvidenceFileError) throw error;
      throw new EvidenceFileError(name, undefined, `cannot be read (${(error as Error).message})`, {
        cause: error,
      });
    } finally {
      await handle.close();
    }
  }

  /** A small file whole (manifest.json, summary.json): refused above `limit` bytes. */
  async text(name: EvidenceFileName | typeof MANIFEST_FILE, limit: number): Promise<string> {
    const handle = await this.open(name);
    try {
      const { size } = await handle.stat();
      if (size > limit)
        throw new EvidenceFileError(
          name,
          undefined,
          `${size} bytes, more than the ${limit} this file can be`,
        );
      return (await handle.readFile()).toString('utf8');
    } finally {
      await handle.close();
    }
  }
}

/** A line (an event, a policy change with its documents) longer than this is refused, not held. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Lines with their byte offset, so an event can be read again later without keeping it. */
export async function* linesOf(
  name: string,
  chunks: AsyncIterable<Buffer>,
): AsyncGenerator<{ text: string; offset: number; length: number; line: number }> {
  let rest: Buffer = Buffer.alloc(0);
  let offset = 0;
  let line = 0;
  for await (const chunk of chunks) {
    const buffer = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let end = buffer.indexOf(10, start); end !== -1; end = buffer.indexOf(10, start)) {
      line++;
      yield { text: buffer.toString('utf8', start, end), offset: offset + start, length: end - start, line };
      start = end + 1;
    }
    rest = buffer.subarray(start);
    offset += start;
    if (rest.length > MAX_LINE_BYTES) {
      throw new EvidenceFileError(name, line + 1, `longer than ${MAX_LINE_BYTES} bytes, not read further`);
    }
  }
  if (rest.length > 0) yield { text: rest.toString('utf8'), offset, length: rest.length, line: line + 1 };
}
