import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archiveEvidenceFolder,
  EvidenceArchiveConflictError,
} from '../../../functions/evidence/archive/archive';
import { s3Archive } from '../../../functions/evidence/archive/s3';
import { localSigner } from '../../../functions/evidence/signing/local';
import { run as finalize } from '../../../functions/handlers/finalize';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { exampleAwsScenario, HUB_ACCOUNT, REGION } from '../../../sandbox/aws/example';
import { addBucket, bucket } from '../../../sandbox/aws/s3';
import { type AwsSandbox, startAwsSandbox } from '../../../sandbox/aws/server';
import { reviewedCampaign } from '../../support/evidence-campaign';
import { startTestStore } from '../../support/local-store';
import { signHead } from '../../support/tamper';

/*
 * The S3 archive against the AWS sandbox's S3: Object Lock in compliance mode as S3 enforces it,
 * every request header and answer checked against @aws-sdk/client-s3's model, every call authorized
 * by the bucket policy (here it lets the functions' role do everything, deletes included, so what
 * stops a delete is the lock).
 */

const FUNCTIONS_ROLE = `arn:aws:iam::${HUB_ACCOUNT}:role/access-review-functions`;
const BUCKET = 'access-review-evidence';
const DAY = 86_400_000;

let sandbox: AwsSandbox;
let client: S3Client;
let dir: string;
let dynamo: LocalDynamo;
let store: Store;

beforeAll(async () => {
  sandbox = await startAwsSandbox(exampleAwsScenario());
  addBucket(sandbox.state, {
    name: BUCKET,
    accountId: HUB_ACCOUNT,
    region: REGION,
    objectLock: true,
    policy: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: FUNCTIONS_ROLE },
          Action: [
            's3:PutObject',
            's3:PutObjectRetention',
            's3:GetObject',
            's3:GetObjectVersion',
            's3:DeleteObject',
            's3:DeleteObjectVersion',
          ],
          Resource: `arn:aws:s3:::${BUCKET}/*`,
        },
      ],
    },
  });
  addBucket(sandbox.state, {
    name: 'locked-to-others',
    accountId: HUB_ACCOUNT,
    region: REGION,
    objectLock: true,
  });
  client = new S3Client({
    endpoint: sandbox.url,
    forcePathStyle: true,
    region: REGION,
    credentials: sandbox.credentials,
    maxAttempts: 1,
  });
  dir = await mkdtemp(join(tmpdir(), 'archive-s3-'));
  ({ dynamo, store } = await startTestStore('archive-s3'));
});
afterAll(async () => {
  expect(sandbox.violations).toEqual([]);
  await sandbox?.close();
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

async function pack(name: string, files: Record<string, string>): Promise<string> {
  const folder = join(dir, name);
  await mkdir(folder, { recursive: true });
  for (const [file, text] of Object.entries(files)) await writeFile(join(folder, file), text);
  return folder;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('the S3 archive with Object Lock', () => {
  it('writes each file locked in compliance mode until now + retention; a retry finds them its own', async () => {
    const folder = await pack('pack-1', {
      'grants.csv': 'grant_id\ng1\n',
      'manifest.json': '{"files":[]}\n',
    });
    const archive = s3Archive(client, BUCKET, 548);
    const now = new Date();
    const receipt = await archiveEvidenceFolder(archive, 'c-1', folder, now);
    expect(receipt).toEqual({
      location: `s3://${BUCKET}/campaigns/c-1/`,
      retainUntil: new Date(now.getTime() + 548 * DAY).toISOString(),
      manifestSha256: sha256('{"files":[]}\n'),
      files: 2,
      archivedAt: now.toISOString(),
    });
    const got = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'campaigns/c-1/grants.csv' }));
    expect(await got.Body?.transformToString()).toBe('grant_id\ng1\n');
    const head = await client.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: 'campaigns/c-1/manifest.json', ChecksumMode: 'ENABLED' }),
    );
    expect(head.ObjectLockMode).toBe('COMPLIANCE');
    expect(head.ObjectLockRetainUntilDate?.toISOString()).toBe(receipt.retainUntil);
    expect(head.ChecksumSHA256).toBe(Buffer.from(receipt.manifestSha256, 'hex').toString('base64'));

    const again = await archiveEvidenceFolder(archive, 'c-1', folder, new Date(now.getTime() + 1000));
    expect(again.manifestSha256).toBe(receipt.manifestSha256);
    expect(bucket(sandbox.state, BUCKET)?.objects.get('campaigns/c-1/grants.csv')).toHaveLength(1);
  });

  it('refuses to replace an archived object with other bytes, and leaves it as it was', async () => {
    await archiveEvidenceFolder(
      s3Archive(client, BUCKET, 1),
      'c-2',
      await pack('pack-2', { 'events.jsonl': 'original\n', 'manifest.json': '{}\n' }),
      new Date(),
    );
    const changed = await pack('pack-2b', { 'events.jsonl': 'rewritten\n', 'manifest.json': '{}\n' });
    await expect(
      archiveEvidenceFolder(s3Archive(client, BUCKET, 1), 'c-2', changed, new Date()),
    ).rejects.toThrow(EvidenceArchiveConflictError);
    const got = await client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'campaigns/c-2/events.jsonl' }),
    );
    expect(await got.Body?.transformToString()).toBe('original\n');
  });

  it('enforces the lock: no version delete, no shorter retention, no overwrite with If-None-Match', async () => {
    const Key = 'campaigns/c-3/summary.json';
    await archiveEvidenceFolder(
      s3Archive(client, BUCKET, 30),
      'c-3',
      await pack('pack-3', { 'summary.json': '{"ok":true}\n', 'manifest.json': '{}\n' }),
      new Date(),
    );
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key }));
    const VersionId = head.VersionId!;
    await expect(
      client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key, VersionId })),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    await expect(
      client.send(
        new PutObjectRetentionCommand({
          Bucket: BUCKET,
          Key,
          VersionId,
          Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(Date.now() + DAY) },
          ChecksumAlgorithm: 'SHA256',
        }),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(
      client.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key,
          Body: 'forged',
          IfNoneMatch: '*',
          ChecksumAlgorithm: 'SHA256',
        }),
      ),
    ).rejects.toMatchObject({ name: 'PreconditionFailed' });
    // A plain delete only hides the object behind a marker; the locked version stays readable.
    const deleted = await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }));
    expect(deleted.DeleteMarker).toBe(true);
    const kept = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key, VersionId }));
    expect(await kept.Body?.transformToString()).toBe('{"ok":true}\n');
    // Extending the lock is allowed.
    await client.send(
      new PutObjectRetentionCommand({
        Bucket: BUCKET,
        Key,
        VersionId,
        Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(Date.now() + 60 * DAY) },
        ChecksumAlgorithm: 'SHA256',
      }),
    );
  });

  it('is refused where the bucket policy does not let the caller write', async () => {
    const folder = await pack('pack-4', { 'manifest.json': '{}\n' });
    await expect(
      archiveEvidenceFolder(s3Archive(client, 'locked-to-others', 1), 'c-4', folder, new Date()),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('Finalize archives the signed pack to the bucket and records where', async () => {
    const campaignId = 'archive-s3-final';
    const { services } = await reviewedCampaign(store, campaignId, 10);
    const signer = await localSigner(join(dir, 'data'));
    // The earlier steps signed as they went (the signer refuses an unsigned chain past its first event).
    await signHead(store, campaignId, signer);
    await finalize({ campaignId }, { ...services, signer, archive: s3Archive(client, BUCKET, 548) });
    const receipt = await store.signatures.archiveReceipt(campaignId);
    expect(receipt?.location).toBe(`s3://${BUCKET}/campaigns/${campaignId}/`);
    const manifest = await client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: `campaigns/${campaignId}/manifest.json` }),
    );
    expect(sha256((await manifest.Body?.transformToString()) ?? '')).toBe(receipt?.manifestSha256);
    const stored = [...(bucket(sandbox.state, BUCKET)?.objects.keys() ?? [])].filter((key) =>
      key.startsWith(`campaigns/${campaignId}/`),
    );
    expect(stored).toHaveLength(receipt?.files ?? -1);
  });
});
