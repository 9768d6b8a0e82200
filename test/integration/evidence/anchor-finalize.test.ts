import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvidenceArchiveConflictError } from '../../../functions/evidence/archive/archive';
import { folderArchive } from '../../../functions/evidence/archive/folder';
import { checkChainAnchor } from '../../../functions/evidence/signing/check';
import { readSignatureFiles, writeSignatureFiles } from '../../../functions/evidence/signing/evidence';
import { localSigner } from '../../../functions/evidence/signing/local';
import { signingChainHead } from '../../../functions/evidence/signing/sign-head';
import type { ChainSigner } from '../../../functions/evidence/signing/signer';
import { run as finalize } from '../../../functions/handlers/finalize';
import type { Services } from '../../../functions/runtime/services';
import { CampaignFailedError } from '../../../functions/steps/campaign-failure';
import type { Store } from '../../../functions/store/index';
import { keys } from '../../../functions/store/table';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { reviewedCampaign } from '../../support/evidence-campaign';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';
import { signHead } from '../../support/tamper';

/*
 * The anchor as the workflow leaves it: each step signs the head it leaves, Finalize signs
 * `campaign_completed` and archives the pack (here the embedded host's folder archive), the failure
 * recorder signs `campaign_failed`. Calls the handler modules' `run`, what both hosts call.
 */

let dir: string;
let dynamo: LocalDynamo;
let store: Store;
let signer: ChainSigner;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anchor-finalize-'));
  ({ dynamo, store } = await startTestStore('anchor-finalize'));
  signer = await localSigner(join(dir, 'data'));
});
afterAll(async () => {
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

function withAnchor(services: Services, archiveRoot: string): Services {
  return { ...services, signer, archive: folderArchive(archiveRoot, 548) };
}

async function anchorOf(campaignId: string) {
  const out = await mkdtemp(join(dir, 'signatures-'));
  await writeSignatureFiles(store, campaignId, out);
  const read = await readSignatureFiles(out);
  const events = await store.events.list(campaignId);
  const last = events.at(-1)!;
  return {
    events,
    check: checkChainAnchor({
      campaignId,
      signatures: read.signatures,
      keys: read.keys,
      chainHashes: new Map(events.map((event) => [event.seq, event.hash])),
      chainEnd: { seq: last.seq, hash: last.hash },
    }),
  };
}

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

describe('Finalize', () => {
  it('signs campaign_completed, archives the pack read-only, records the receipt; a retry changes nothing', async () => {
    const campaignId = 'anchor-final-1';
    const archiveRoot = join(dir, 'archive-1');
    const { services } = await reviewedCampaign(store, campaignId, 20);
    // The earlier steps signed as they went (the signer refuses an unsigned chain past its first event).
    await signHead(store, campaignId, signer);
    const anchored = withAnchor(services, archiveRoot);
    await finalize({ campaignId }, anchored);

    const { events, check } = await anchorOf(campaignId);
    expect(events.at(-1)?.type).toBe('campaign_completed');
    expect(check.findings).toEqual([]);
    expect(check.anchoredThrough).toBe(events.at(-1)?.seq);

    const receipt = await store.signatures.archiveReceipt(campaignId);
    const folder = join(archiveRoot, 'campaigns', campaignId);
    expect(receipt?.location).toBe(`${folder}/`);
    const files = (await readdir(folder)).sort();
    expect(files).toContain('manifest.json');
    expect(files).toContain('events.jsonl');
    expect(files.some((name) => name.endsWith('.partial'))).toBe(false);
    expect(receipt?.files).toBe(files.length);
    expect(receipt?.manifestSha256).toBe(await sha256(join(folder, 'manifest.json')));
    for (const name of files) expect((await stat(join(folder, name))).mode & 0o777).toBe(0o444);
    const days = (Date.parse(receipt!.retainUntil) - Date.parse(receipt!.archivedAt)) / 86_400_000;
    expect(days).toBe(548);

    // A retried Finalize: no new event, no new signature, the same receipt.
    const signatures = await store.signatures.pages(campaignId).next();
    await finalize({ campaignId }, anchored);
    expect((await store.events.list(campaignId)).length).toBe(events.length);
    expect((await store.signatures.pages(campaignId).next()).value).toEqual(signatures.value);
    expect(await store.signatures.archiveReceipt(campaignId)).toEqual(receipt);
  });

  it('re-exports the same bytes after a crash before the receipt, and finds the archived files its own', async () => {
    const campaignId = 'anchor-final-2';
    const archiveRoot = join(dir, 'archive-2');
    const { services } = await reviewedCampaign(store, campaignId, 20);
    // The earlier steps signed as they went (the signer refuses an unsigned chain past its first event).
    await signHead(store, campaignId, signer);
    const anchored = withAnchor(services, archiveRoot);
    await finalize({ campaignId }, anchored);
    const first = await store.signatures.archiveReceipt(campaignId);
    // The receipt write never happened: Finalize runs again and archives again.
    await dynamo.table.client.send(
      new UpdateCommand({
        TableName: dynamo.table.tableName,
        Key: { pk: keys.campaign(campaignId), sk: keys.meta },
        UpdateExpression: 'REMOVE evidenceArchive',
      }),
    );
    await finalize({ campaignId }, anchored);
    const second = await store.signatures.archiveReceipt(campaignId);
    expect(second?.manifestSha256).toBe(first?.manifestSha256);
  });

  it('never replaces an archived file with other bytes', async () => {
    const campaignId = 'anchor-final-3';
    const archiveRoot = join(dir, 'archive-3');
    const { services } = await reviewedCampaign(store, campaignId, 10);
    // The earlier steps signed as they went (the signer refuses an unsigned chain past its first event).
    await signHead(store, campaignId, signer);
    const folder = join(archiveRoot, 'campaigns', campaignId);
    await folderArchive(archiveRoot, 1).put(
      campaignId,
      await (async () => {
        const path = join(dir, 'planted-events.jsonl');
        await writeFile(path, 'planted\n');
        return { name: 'events.jsonl', path, bytes: 8, sha256: await sha256(path) };
      })(),
      new Date(),
    );
    await expect(finalize({ campaignId }, withAnchor(services, archiveRoot))).rejects.toThrow(
      EvidenceArchiveConflictError,
    );
    expect(await readFile(join(folder, 'events.jsonl'), 'utf8')).toBe('planted\n');
    expect(await store.signatures.archiveReceipt(campaignId)).toBeUndefined();
  });
});

describe('signing as the campaign advances', () => {
  it('the failure recorder signs campaign_failed before it ends the execution', async () => {
    const campaignId = 'anchor-failed';
    const { services } = await reviewedCampaign(store, campaignId, 10);
    // The earlier steps signed as they went (the signer refuses an unsigned chain past its first event).
    await signHead(store, campaignId, signer);
    const input = {
      failure: { state: 'ApplyRevocations', campaignId },
      error: { Error: 'States.TaskFailed', Cause: 'GitHub said no' },
      execution: { Name: campaignId, RedriveCount: 0 },
    };
    await expect(finalize(input, withAnchor(services, join(dir, 'unused')))).rejects.toThrow(
      CampaignFailedError,
    );
    const { events, check } = await anchorOf(campaignId);
    expect(events.at(-1)?.type).toBe('campaign_failed');
    expect(check.findings).toEqual([]);
  });

  it('a signer that fails too does not hide the recorded failure; verification reports the unsigned tail', async () => {
    const campaignId = 'anchor-failed-kms';
    const { services } = await reviewedCampaign(store, campaignId, 10);
    const broken: ChainSigner = {
      ...signer,
      sign: () => Promise.reject(Object.assign(new Error('KMS is down'), { name: 'KMSInternalException' })),
    };
    const input = {
      failure: { state: 'Snapshot', campaignId },
      error: { Error: 'KMSInternalException', Cause: 'KMS is down' },
      execution: { Name: campaignId, RedriveCount: 0 },
    };
    await expect(finalize(input, { ...services, signer: broken })).rejects.toThrow(CampaignFailedError);
    const { events, check } = await anchorOf(campaignId);
    expect(events.at(-1)?.type).toBe('campaign_failed');
    expect(check.findings).toEqual([
      'signatures.jsonl has no signature: nothing outside the table anchors the chain',
    ]);
  });

  it('concurrent steps (the reviewer Map) each sign the head they leave; the last head is signed once', async () => {
    const campaignId = 'anchor-map';
    await createTestCampaign(store, campaignId, 'in_review');
    const services = { ...testServices(store), signer };
    const step = signingChainHead(async (input: { campaignId: string; reviewer: string }, s: Services) => {
      await s.store.events.append(
        input.campaignId,
        'review_requested',
        { reviewer: input.reviewer },
        s.now(),
      );
      return { done: true };
    });
    await Promise.all(
      Array.from({ length: 12 }, (_, index) => step({ campaignId, reviewer: `r${index}` }, services)),
    );
    const { events, check } = await anchorOf(campaignId);
    expect(events).toHaveLength(12);
    expect(check.findings).toEqual([]);
    expect(check.anchoredThrough).toBe(12);
  });

  it('a step without a signer (the Slack endpoint) signs nothing; the next step covers its events', async () => {
    const campaignId = 'anchor-slack';
    await createTestCampaign(store, campaignId, 'in_review');
    const append = signingChainHead(async (input: { campaignId: string }, s: Services) => {
      await s.store.events.append(input.campaignId, 'decision_recorded', { grantId: 'g' }, s.now());
      return {};
    });
    // StartCampaign's signature of the first event.
    await append({ campaignId }, { ...testServices(store), signer });
    await append({ campaignId }, testServices(store));
    expect((await anchorOf(campaignId)).check.anchoredThrough).toBe(1);
    await append({ campaignId }, { ...testServices(store), signer });
    const { check } = await anchorOf(campaignId);
    expect(check.findings).toEqual([]);
    expect(check.anchoredThrough).toBe(3);
  });
});
