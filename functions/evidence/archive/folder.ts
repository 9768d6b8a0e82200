import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, link, mkdir, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type ArchivedFile,
  archiveSegment,
  type EvidenceArchive,
  EvidenceArchiveConflictError,
} from './archive';

/**
 * The embedded host's archive (lib/local/host.ts puts it beside the data directory:
 * `.access-review/evidence-archive/` for the default `.access-review/data`): the same layout as
 * the bucket (`campaigns/<id>/<file>`), each file created exclusively (never replacing one) and
 * made read-only. A folder cannot refuse its owner a delete the way Object Lock refuses everyone;
 * the retain-until date is recorded in the receipt, not enforced.
 */
export function folderArchive(root: string, retentionDays: number): EvidenceArchive {
  const base = resolve(root);
  const folder = (campaignId: string) => join(base, 'campaigns', archiveSegment(campaignId, 'campaign id'));
  return {
    retentionDays,
    location: (campaignId) => `${folder(campaignId)}/`,
    async put(campaignId: string, file: ArchivedFile): Promise<'written' | 'present'> {
      const dir = folder(campaignId);
      await mkdir(dir, { recursive: true });
      const target = join(dir, archiveSegment(file.name, 'evidence file'));
      // Copied under a temporary name, then linked into place: link() never replaces a file (EEXIST,
      // the `wx` of a rename), and a crash mid-copy leaves no half file under the real name.
      const partial = join(dir, `.${file.name}.${randomBytes(6).toString('hex')}.partial`);
      await copyFile(file.path, partial);
      await chmod(partial, 0o444);
      try {
        await link(partial, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const existing = createHash('sha256')
          .update(await readFile(target))
          .digest('hex');
        if (existing !== file.sha256) {
          throw new EvidenceArchiveConflictError(
            `${target} is already archived with sha256 ${existing}; this export's is ${file.sha256}`,
          );
        }
        return 'present';
      } finally {
        await unlink(partial);
      }
      return 'written';
    },
  };
}
