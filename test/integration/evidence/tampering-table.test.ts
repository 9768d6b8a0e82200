import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exportEvidence } from '../../../functions/evidence/export';
import { localSigner } from '../../../functions/evidence/signing/local';
import type { ChainSigner } from '../../../functions/evidence/signing/signer';
import { type EvidenceCheck, verifyEvidence } from '../../../functions/evidence/verify';
import { applyRevocations } from '../../../functions/steps/apply-revocations';
import { CampaignFailedError, recordFailureOrResume } from '../../../functions/steps/campaign-failure';
import { finalizeCampaign } from '../../../functions/steps/finalize';
import { verifyRevocations } from '../../../functions/steps/verify-revocations';
import type { Store } from '../../../functions/store/index';
import type { TableRef } from '../../../functions/store/table';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import type { SlackSandbox } from '../../../sandbox/slack/server';
import { reviewedCampaign } from '../../support/evidence-campaign';
import { startTestStore } from '../../support/local-store';
import {
  partitionItems,
  putItems,
  restorePartition,
  signHead,
  signingKeyItems,
  startReviewersSlack,
  tableEvents,
  tableTamper,
  workflowCampaign,
} from '../../support/tamper';

/*
 * Tampering with the table, as anyone who can write it could: each forgery re-hashes the chain it
 * touches and re-points the records at their events, so the chain on its own still holds. The
 * evidence exported afterwards from the table must not verify, and must say what is wrong.
 *
 * One campaign is built through the steps (40 grants, three reviewers, carol unresponsive, revoke
 * decisions applied and verified, one still present) and finalized; each test tampers with it and
 * the partition is put back as it was afterwards.
 */
let dynamo: LocalDynamo;
let store: Store;
let table: TableRef;
let dir: string;
let pristine: Record<string, unknown>[];
let pristineKeys: Record<string, unknown>[];
let signer: ChainSigner;
/** A key of the forger's own, which nothing in the campaign signed with. */
let forger: ChainSigner;
let CAMPAIGN: string;
let slack: SlackSandbox;

type Grant = { grantId: string; reviewer?: string };
type DecisionItem = { grantId: string; decision: string; reviewer: string };

async function grants(): Promise<Grant[]> {
  return (await partitionItems(table, CAMPAIGN, 'GRANT#')) as unknown as Grant[];
}

async function decisions(): Promise<DecisionItem[]> {
  return (await partitionItems(table, CAMPAIGN, 'DECISION#')) as unknown as DecisionItem[];
}

/** Evidence exported from the table as it is now, and what verify-evidence says of it. */
async function exportAndVerify(campaignId = CAMPAIGN): Promise<EvidenceCheck> {
  const out = await mkdtemp(join(dir, `${campaignId}-`));
  try {
    await exportEvidence(store, campaignId, out);
  } catch (error) {
    // An export that refuses a tampered table reports it too, by its error's message.
    return { ok: false, findings: [`export: ${(error as Error).message}`] };
  }
  return verifyEvidence(out);
}

/** The evidence must fail with a finding matching `problem` (not just any finding). */
async function expectFound(problem: RegExp): Promise<string[]> {
  const check = await exportAndVerify();
  expect(check.ok, `verified despite the tampering; findings: ${check.findings.join(' | ')}`).toBe(false);
  expect(check.findings).toContainEqual(expect.stringMatching(problem));
  return check.findings;
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('tamper-table'));
  table = store.events.table;
  dir = await mkdtemp(join(tmpdir(), 'tamper-table-'));
  signer = await localSigner(join(dir, 'data'));
  forger = await localSigner(join(dir, 'forger'));
  slack = await startReviewersSlack();
  ({ campaignId: CAMPAIGN } = await workflowCampaign(store, {
    executionName: 'tamper-table',
    size: 26,
    slackApiUrl: slack.apiUrl,
    signer,
  }));
  pristine = await partitionItems(table, CAMPAIGN);
  pristineKeys = await signingKeyItems(table, CAMPAIGN);
});

afterEach(async () => {
  await restorePartition(table, CAMPAIGN, pristine);
  await putItems(table, pristineKeys);
});

afterAll(async () => {
  await slack?.close();
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('evidence from a table someone tampered with', () => {
  it('verifies as the campaign left it (and after each restore)', async () => {
    const types = (await tableEvents(table, CAMPAIGN)).map((event) => event.type);
    expect(types.at(-1)).toBe('campaign_completed');
    expect(types).toContain('revocation_applied');
    expect(types).toContain('revocation_verified');
    expect(types).toContain('reviewer_unresponsive');
    expect(await exportAndVerify()).toMatchObject({ ok: true, findings: [] });
  });

  it('finds a decision edited in the chain and its record, the chain re-hashed from there', async () => {
    const kept = (await decisions()).find((d) => d.decision === 'keep');
    expect(kept).toBeDefined();
    await tableTamper.editDecision(table, CAMPAIGN, kept?.grantId as string, 'approved by the CTO');
    await expectFound(/signatures\.jsonl seq \d+: .*the chain was rewritten at or before seq \d+/);
  });

  it('finds two decisions reordered in the chain, re-hashed', async () => {
    await tableTamper.reorderDecisions(table, CAMPAIGN);
    await expectFound(/signatures\.jsonl seq \d+: .*the chain was rewritten at or before seq \d+/);
  });

  it('finds the last event (campaign_completed) deleted', async () => {
    const last = await tableTamper.deleteLastEvent(table, CAMPAIGN);
    expect(last.type).toBe('campaign_completed');
    await expectFound(/neither campaign_completed nor campaign_failed/);
  });

  it('finds every revocation and verification deleted (events and records), re-hashed', async () => {
    const deleted = await tableTamper.deleteRevocations(table, CAMPAIGN);
    expect(deleted.length).toBeGreaterThan(0);
    await expectFound(/was decided revoke \(event \d+\) but the chain records no revocation outcome/);
  });

  it('finds every revocation and verification deleted with campaign_completed (made to look unfinished)', async () => {
    await tableTamper.deleteRevocationsAndCompletion(table, CAMPAIGN);
    await expectFound(/neither campaign_completed nor campaign_failed/);
  });

  it('finds the signatures of the chain heads deleted', async () => {
    expect((await tableTamper.deleteSignatures(table, CAMPAIGN)).length).toBeGreaterThan(0);
    await expectFound(/signatures\.jsonl has no signature/);
  });

  it('finds the signatures deleted from a chain rewritten after the review', async () => {
    const kept = (await decisions()).find((d) => d.decision === 'keep');
    await tableTamper.editDecision(table, CAMPAIGN, kept?.grantId as string, 'approved by the CTO');
    await tableTamper.deleteSignatures(table, CAMPAIGN);
    await expectFound(/signatures\.jsonl has no signature/);
  });

  it('finds the signing public key swapped for another', async () => {
    const pem = await forger.publicKeyPem();
    await tableTamper.swapSigningKey(table, CAMPAIGN, pem, forger.keyId.replace(/^local:/, ''));
    await expectFound(/which signing-key\.pem does not carry/);
  });

  it('finds a keep decision added for a grant of the reviewer who never answered, re-hashed', async () => {
    const decided = new Set((await decisions()).map((d) => d.grantId));
    const carols = (await grants()).find((g) => g.reviewer === 'carol' && !decided.has(g.grantId));
    expect(carols).toBeDefined();
    await tableTamper.addDecision(table, CAMPAIGN, {
      grantId: carols?.grantId as string,
      reviewer: 'carol',
      slackUserId: 'U0CAROL01',
      decision: 'keep',
    });
    await expectFound(/by carol after their review closed \(event \d+, unresponsive\)/);
  });

  it('accepts a decision clicked while the review was open and written just after it closed', async () => {
    // record-decision reads the task open, the window closes, then the decision is written: its
    // event follows reviewer_unresponsive but carries the click's time, before the close.
    const events = await partitionItems(table, CAMPAIGN, 'EVENT#');
    const closed = events.find(
      (event) =>
        event.type === 'reviewer_unresponsive' &&
        (event.data as Record<string, unknown>).reviewer === 'carol',
    );
    const closedAt = (closed?.data as Record<string, unknown> | undefined)?.completedAt as string;
    expect(closedAt).toEqual(expect.any(String));
    const decided = new Set((await decisions()).map((d) => d.grantId));
    const carols = (await grants()).find((g) => g.reviewer === 'carol' && !decided.has(g.grantId));
    await tableTamper.addDecision(table, CAMPAIGN, {
      grantId: carols?.grantId as string,
      reviewer: 'carol',
      slackUserId: 'U0CAROL01',
      decision: 'keep',
      at: new Date(Date.parse(closedAt) - 5).toISOString(),
    });
    const result = await exportAndVerify();
    expect(
      result.findings.filter((f) => /after their review closed|closed with \d+ decisions/.test(f)),
    ).toEqual([]);
  });

  it.each([
    ['keep overridden by revoke', 'keep', 'revoke'],
    ['keep overridden by keep with another reason', 'keep', 'keep'],
    ['revoke overridden by keep', 'revoke', 'keep'],
  ] as const)('finds a second decision overriding the first (%s), re-hashed', async (_, first, second) => {
    const decided = (await decisions()).find((d) => d.decision === first);
    expect(decided).toBeDefined();
    const grantId = decided?.grantId as string;
    const seq = await tableTamper.overrideDecision(table, CAMPAIGN, grantId, {
      decision: second,
      justification: 'changed my mind',
    });
    expect(seq).toBeGreaterThan(0);
    await expectFound(new RegExp(`${grantId}.*(\\d+ decisions|decided once|second decision|decided twice)`));
  });
});

describe('evidence of campaigns nobody tampered with', () => {
  const input = (campaignId: string, attempt: number) => ({
    failure: { state: 'ApplyRevocations', campaignId },
    error: { Error: 'AuthenticationError', Cause: 'GitHub 401: Bad credentials' },
    execution: { Name: `execution-${campaignId}`, RedriveCount: attempt },
  });

  it('verifies a campaign that failed in ApplyRevocations', async () => {
    const campaignId = 'c-tamper-failed';
    const { services } = await reviewedCampaign(store, campaignId, 20, { revoke: false });
    await expect(recordFailureOrResume(input(campaignId, 0), services)).rejects.toThrow(CampaignFailedError);
    await signHead(store, campaignId, signer);
    const check = await exportAndVerify(campaignId);
    expect(check).toMatchObject({ ok: true, findings: [], failure: { state: 'ApplyRevocations' } });
  });

  it('verifies a campaign that failed, was resumed by a redrive, and completed', async () => {
    const campaignId = 'c-tamper-resumed';
    const { services } = await reviewedCampaign(store, campaignId, 20, { revoke: false });
    await expect(recordFailureOrResume(input(campaignId, 0), services)).rejects.toThrow(CampaignFailedError);
    await signHead(store, campaignId, signer);
    await recordFailureOrResume(input(campaignId, 1), services);
    await signHead(store, campaignId, signer);
    await applyRevocations({ campaignId }, services);
    await signHead(store, campaignId, signer);
    await store.campaigns.advance(campaignId, 'verifying');
    await verifyRevocations({ campaignId }, services);
    await signHead(store, campaignId, signer);
    await finalizeCampaign({ campaignId }, services);
    await signHead(store, campaignId, signer);
    const types = (await tableEvents(table, campaignId)).map((event) => event.type);
    expect(types).toContain('campaign_resumed');
    expect(types.at(-1)).toBe('campaign_completed');
    const check = await exportAndVerify(campaignId);
    expect(check).toMatchObject({ ok: true, findings: [] });
  });
});
