import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainTamperedError, classifyError } from '../../../functions/core/errors';
import { localSigner } from '../../../functions/evidence/signing/local';
import { signingChainHead } from '../../../functions/evidence/signing/sign-head';
import type { ChainSigner } from '../../../functions/evidence/signing/signer';
import { run as finalize } from '../../../functions/handlers/finalize';
import type { Services } from '../../../functions/runtime/services';
import { CampaignFailedError } from '../../../functions/steps/campaign-failure';
import { type CampaignEvent, type EventType, eventHash } from '../../../functions/store/events';
import type { Store } from '../../../functions/store/index';
import { keys } from '../../../functions/store/table';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';
import {
  deleteByPrefix,
  deleteItems,
  partitionItems,
  rewriteTableChain,
  signHead,
  tableTamper,
  updateItem,
} from '../../support/tamper';

/*
 * The signer refuses a chain it cannot vouch for (functions/evidence/signing/vouch.ts): each
 * campaign here is advanced by steps wrapped as the handlers wrap them, so it is signed from
 * campaign_started on, then tampered with in the table the way a table writer would, then the next
 * step runs. A refusal is a ChainTamperedError from the step, and nothing new is signed.
 */

let dir: string;
let dynamo: LocalDynamo;
let store: Store;
let signer: ChainSigner;
let forger: ChainSigner;
let services: Services;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anchor-refuses-'));
  ({ dynamo, store } = await startTestStore('anchor-refuses'));
  signer = await localSigner(join(dir, 'data'));
  forger = await localSigner(join(dir, 'forger'));
  services = { ...testServices(store), signer };
});
afterAll(async () => {
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A workflow step that appends `types` and signs the head it leaves, as handlers/*.ts export it. */
const step = signingChainHead(async (input: { campaignId: string; types: EventType[] }, s: Services) => {
  for (const type of input.types) {
    await s.store.events.append(input.campaignId, type, { note: `${type} by a step` }, s.now());
  }
  return { campaignId: input.campaignId };
});

/** Signed at 1 (StartCampaign), 3, 6 and 9: the chain a genuine run leaves after four steps. */
async function signedCampaign(campaignId: string): Promise<void> {
  await createTestCampaign(store, campaignId, 'in_review');
  await step({ campaignId, types: ['campaign_started'] }, services);
  await step({ campaignId, types: ['snapshot_taken', 'reviewers_assigned'] }, services);
  await step({ campaignId, types: ['review_requested', 'decision_recorded', 'decision_recorded'] }, services);
  await step(
    { campaignId, types: ['decision_recorded', 'review_completed', 'reviewer_unresponsive'] },
    services,
  );
}

const signedSeqs = async (campaignId: string) =>
  (await partitionItems(dynamo.table, campaignId, 'SIGNATURE#')).map((item) => item.seq as number);

const nextStep = (campaignId: string) =>
  step({ campaignId, types: ['revocation_guard_evaluated'] }, services);

describe('the signer vouches for the chain before it signs', () => {
  it('signs an untouched chain at every step', async () => {
    const campaignId = 'refuses-untouched';
    await signedCampaign(campaignId);
    await nextStep(campaignId);
    expect(await signedSeqs(campaignId)).toEqual([1, 3, 6, 9, 10]);
  });

  it("refuses a rewrite whose signatures were all deleted (the reviewer's 0b): the genuine key signs nothing", async () => {
    const campaignId = 'refuses-resigned';
    await signedCampaign(campaignId);
    await rewriteTableChain(dynamo.table, campaignId, (entries) => {
      const decision = entries.find((entry) => entry.type === 'decision_recorded');
      if (!decision) throw new Error('no decision');
      decision.data.note = 'approved by the CISO';
      return entries;
    });
    await tableTamper.deleteSignatures(dynamo.table, campaignId);
    const refused = await nextStep(campaignId).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ChainTamperedError);
    expect(refused).toMatchObject({ campaignId, seq: 1 });
    expect(String(refused)).toContain('10 events and no signature');
    expect(await signedSeqs(campaignId)).toEqual([]);
  });

  it('refuses a rewrite before the last signature, the signature kept', async () => {
    const campaignId = 'refuses-before-signature';
    await signedCampaign(campaignId);
    await rewriteTableChain(dynamo.table, campaignId, (entries) => {
      const decision = entries.find((entry) => entry.type === 'decision_recorded');
      if (!decision) throw new Error('no decision');
      decision.data.note = 'approved by the CISO';
      return entries;
    });
    await expect(nextStep(campaignId)).rejects.toMatchObject({
      name: 'ChainTamperedError',
      seq: 9,
      message: expect.stringContaining('event 9 was signed with hash'),
    });
    expect(await signedSeqs(campaignId)).toEqual([1, 3, 6, 9]);
  });

  it('refuses an event after the last signature changed without re-hashing', async () => {
    const campaignId = 'refuses-content';
    await signedCampaign(campaignId);
    await step({ campaignId, types: ['revocation_guard_evaluated'] }, { ...services, signer: undefined });
    await step({ campaignId, types: ['revocation_applied'] }, { ...services, signer: undefined });
    await updateItem(dynamo.table, campaignId, keys.event(10), { data: { note: 'nothing to see' } });
    await expect(nextStep(campaignId)).rejects.toMatchObject({
      name: 'ChainTamperedError',
      seq: 10,
      message: expect.stringContaining("event 10's hash does not recompute"),
    });
  });

  it('refuses a re-hashed event whose successor still links to the old hash', async () => {
    const campaignId = 'refuses-link';
    await signedCampaign(campaignId);
    await step(
      { campaignId, types: ['revocation_guard_evaluated', 'revocation_applied'] },
      {
        ...services,
        signer: undefined,
      },
    );
    const [ten] = await partitionItems(dynamo.table, campaignId, keys.event(10));
    const edited = { ...(ten as Record<string, unknown>), data: { note: 'edited' } };
    const hash = eventHash(edited as unknown as CampaignEvent);
    await updateItem(dynamo.table, campaignId, keys.event(10), { data: edited.data, hash });
    await expect(nextStep(campaignId)).rejects.toMatchObject({
      name: 'ChainTamperedError',
      seq: 11,
      message: expect.stringContaining('does not link to event 10'),
    });
  });

  it('refuses a gap: an event after the last signature deleted', async () => {
    const campaignId = 'refuses-gap';
    await signedCampaign(campaignId);
    await step(
      { campaignId, types: ['revocation_guard_evaluated', 'revocation_applied'] },
      {
        ...services,
        signer: undefined,
      },
    );
    await deleteItems(dynamo.table, [{ pk: keys.campaign(campaignId), sk: keys.event(10) }]);
    await expect(nextStep(campaignId)).rejects.toMatchObject({
      name: 'ChainTamperedError',
      seq: 10,
      message: expect.stringContaining('event 10 is missing'),
    });
  });

  it('refuses the signed event deleted (the signature kept, past the head)', async () => {
    const campaignId = 'refuses-truncated';
    await signedCampaign(campaignId);
    await deleteItems(dynamo.table, [{ pk: keys.campaign(campaignId), sk: keys.event(9) }]);
    await expect(nextStep(campaignId)).rejects.toMatchObject({ name: 'ChainTamperedError', seq: 9 });
  });

  it("refuses a latest signature that is not the signing key's (a table writer's own key)", async () => {
    const campaignId = 'refuses-forged-signature';
    await signedCampaign(campaignId);
    await step({ campaignId, types: ['revocation_guard_evaluated'] }, { ...services, signer: undefined });
    await signHead(store, campaignId, forger);
    expect(await signedSeqs(campaignId)).toEqual([1, 3, 6, 9, 10]);
    await expect(nextStep(campaignId)).rejects.toMatchObject({
      name: 'ChainTamperedError',
      seq: 10,
      message: expect.stringContaining('does not verify with the signing key'),
    });
  });

  it('refuses a campaign past its first event that was never signed', async () => {
    const campaignId = 'refuses-never-signed';
    await createTestCampaign(store, campaignId, 'in_review');
    await step(
      { campaignId, types: ['campaign_started', 'snapshot_taken'] },
      { ...services, signer: undefined },
    );
    await expect(nextStep(campaignId)).rejects.toMatchObject({ name: 'ChainTamperedError', seq: 1 });
    // The first event alone is what StartCampaign signs.
    const first = 'refuses-first-only';
    await createTestCampaign(store, first, 'in_review');
    await step({ campaignId: first, types: ['campaign_started'] }, services);
    expect(await signedSeqs(first)).toEqual([1]);
  });

  it('a refusal fails the campaign through the failure path, never retried', async () => {
    const campaignId = 'refuses-failure-path';
    await signedCampaign(campaignId);
    await deleteByPrefix(dynamo.table, campaignId, ['SIGNATURE#']);
    const refused = await nextStep(campaignId).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ChainTamperedError);
    expect(classifyError(refused)).toBe('internal');
    expect(classifyError({ Error: 'ChainTamperedError' })).toBe('internal');
    const logged: string[] = [];
    const input = {
      failure: { state: 'CheckRevocations', campaignId },
      error: { Error: (refused as Error).name, Cause: (refused as Error).message },
      execution: { Name: campaignId, RedriveCount: 0 },
    };
    await expect(
      finalize(input, {
        ...services,
        log: { ...services.log, error: (message: string) => void logged.push(message) },
      }),
    ).rejects.toThrow(CampaignFailedError);
    const campaign = await store.campaigns.get(campaignId);
    expect(campaign?.status).toBe('failed');
    expect(campaign?.failure).toMatchObject({ error: 'ChainTamperedError', classification: 'internal' });
    // Its own campaign_failed is not signed either: the chain under it is still the tampered one.
    expect(logged).toContain('the chain head after campaign_failed could not be signed');
    expect(await signedSeqs(campaignId)).toEqual([]);
  });
});
