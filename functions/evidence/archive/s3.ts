import { createReadStream } from 'node:fs';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  type ArchivedFile,
  archiveSegment,
  type EvidenceArchive,
  EvidenceArchiveConflictError,
} from './archive';

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/**
 * The stack's Object Lock bucket. Each file is one PutObject under `campaigns/<id>/<file>` in
 * compliance mode until the retain-until date (nobody, the account root included, can delete or
 * overwrite it before then), with its SHA-256 for S3 to check on arrival, and `If-None-Match: *` so
 * an object already there is never replaced: a retried Finalize finds its own object (same SHA-256,
 * read back with HeadObject) and goes on; other bytes under the name are an error.
 */
export function s3Archive(client: S3Client, bucket: string, retentionDays: number): EvidenceArchive {
  const key = (campaignId: string, name: string) =>
    `campaigns/${archiveSegment(campaignId, 'campaign id')}/${archiveSegment(name, 'evidence file')}`;
  return {
    retentionDays,
    location: (campaignId) => `s3://${bucket}/campaigns/${archiveSegment(campaignId, 'campaign id')}/`,
    async put(campaignId: string, file: ArchivedFile, retainUntil: Date): Promise<'written' | 'present'> {
      const Key = key(campaignId, file.name);
      const checksum = Buffer.from(file.sha256, 'hex').toString('base64');
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key,
            Body: createReadStream(file.path),
            ContentLength: file.bytes,
            ContentType: contentType(file.name),
            ChecksumSHA256: checksum,
            ObjectLockMode: 'COMPLIANCE',
            ObjectLockRetainUntilDate: retainUntil,
            IfNoneMatch: '*',
          }),
        );
        return 'written';
      } catch (error) {
        // 412: an object is there already. (409 ConditionalRequestConflict, a concurrent put, is
        // retried by the SDK's standard retry strategy.)
        if (errorName(error) !== 'PreconditionFailed') throw error;
      }
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key, ChecksumMode: 'ENABLED' }));
      if (head.ChecksumSHA256 !== checksum) {
        throw new EvidenceArchiveConflictError(
          `s3://${bucket}/${Key} is already archived with ${head.ChecksumSHA256 ? `sha256 ${Buffer.from(head.ChecksumSHA256, 'base64').toString('hex')}` : 'no SHA-256'}; this export's is ${file.sha256}`,
        );
      }
      return 'present';
    },
  };
}

function contentType(name: string): string {
  if (name.endsWith('.csv')) return 'text/csv; charset=utf-8';
  if (name.endsWith('.json')) return 'application/json';
  if (name.endsWith('.jsonl')) return 'application/x-ndjson';
  if (name.endsWith('.html')) return 'text/html; charset=utf-8';
  if (name.endsWith('.pem')) return 'application/x-pem-file';
  return 'application/octet-stream';
}
