import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AccessReviewError } from '../../core/errors';
import type { ArchiveReceipt } from '../../store/signatures';

/** One file of an evidence pack on its way to the archive. */
export interface ArchivedFile {
  name: string;
  /** Where it is on disk now. */
  path: string;
  bytes: number;
  /** SHA-256 of its bytes, hex. */
  sha256: string;
}

/**
 * Where Finalize keeps the evidence pack out of reach of the table's writers: S3 with Object Lock
 * in compliance mode on AWS, a folder of read-only files on the embedded host. Both lay the pack
 * out as `campaigns/<campaignId>/<file>` and never replace a file: one already there with the same
 * SHA-256 is a retry's and is kept; one with other bytes is an EvidenceArchiveConflictError.
 */
export interface EvidenceArchive {
  /** Days each file is locked for (config `evidence.retentionDays`). */
  readonly retentionDays: number;
  /** `s3://bucket/campaigns/<id>/`, or the folder's absolute path. */
  location(campaignId: string): string;
  put(campaignId: string, file: ArchivedFile, retainUntil: Date): Promise<'written' | 'present'>;
}

/** The archive holds different bytes under a name being archived: nothing is replaced. */
export class EvidenceArchiveConflictError extends AccessReviewError {}

/** A campaign id or file name that would leave `campaigns/<campaignId>/`. */
export class EvidenceArchivePathError extends AccessReviewError {}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Refuses names that are not one plain path segment (no `/`, no `..`, nothing hidden). */
export function archiveSegment(value: string, what: string): string {
  if (!SAFE_NAME.test(value) || value.includes('..')) {
    throw new EvidenceArchivePathError(`${what} ${JSON.stringify(value)} is not a plain file name`);
  }
  return value;
}

export const MANIFEST_FILE = 'manifest.json';
const DAY_MS = 24 * 60 * 60 * 1000;

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * Archives every file of an exported evidence folder, manifest.json last (a manifest in the archive
 * means every file it lists went before it), each locked until `now` + the archive's retention.
 */
export async function archiveEvidenceFolder(
  archive: EvidenceArchive,
  campaignId: string,
  dir: string,
  now: Date,
): Promise<ArchiveReceipt> {
  archiveSegment(campaignId, 'campaign id');
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort((a, b) => (a === MANIFEST_FILE ? 1 : b === MANIFEST_FILE ? -1 : a < b ? -1 : a > b ? 1 : 0));
  if (names.at(-1) !== MANIFEST_FILE) {
    throw new EvidenceArchivePathError(`${dir} has no ${MANIFEST_FILE}: not an evidence folder`);
  }
  const retainUntil = new Date(now.getTime() + archive.retentionDays * DAY_MS);
  let manifestSha256 = '';
  for (const name of names) {
    const path = join(dir, archiveSegment(name, 'evidence file'));
    const file: ArchivedFile = { name, path, bytes: (await stat(path)).size, sha256: await sha256Of(path) };
    await archive.put(campaignId, file, retainUntil);
    if (name === MANIFEST_FILE) manifestSha256 = file.sha256;
  }
  return {
    location: archive.location(campaignId),
    retainUntil: retainUntil.toISOString(),
    manifestSha256,
    files: names.length,
    archivedAt: now.toISOString(),
  };
}
