import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportEvidence, type Manifest } from '../../../functions/evidence/export';
import type { CampaignSummary } from '../../../functions/evidence/summary';
import { verifyEvidence } from '../../../functions/evidence/verify';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { evidenceGrants, reviewedCampaign } from '../../support/evidence-campaign';
import { createTestCampaign, startTestStore } from '../../support/local-store';

/** These campaigns are built through the store API, unsigned: what is checked here is not the anchor. */
const UNSIGNED = { allowUnsigned: true } as const;

/*
 * Evidence of a campaign that failed: it exports, verifies without a false finding, and says where
 * and why it failed. Two campaigns built with the store API: one failed in ApplyRevocations with
 * a revocation left pending, one failed during its snapshot, before snapshot_taken.
 */
let dynamo: LocalDynamo;
let store: Store;
let dir: string;
let revoked: string[];
const FAILED = 'c-failed-revoking';
const EARLY = 'c-failed-snapshot';
const CAUSE = 'GitHub DELETE /orgs/acme/teams/team-1/memberships/user0010 failed with 401: Bad credentials';

async function fail(campaignId: string, state: string, statusBefore: 'revoking' | 'snapshotting') {
  const at = new Date();
  await store.campaigns.fail(campaignId, {
    state,
    error: 'AuthenticationError',
    cause: CAUSE,
    classification: 'authentication',
    at: at.toISOString(),
    attempt: 0,
    statusBefore,
    claim: state,
  });
  const event = await store.events.append(
    campaignId,
    'campaign_failed',
    {
      state,
      error: 'AuthenticationError',
      cause: CAUSE,
      classification: 'authentication',
      statusBefore,
      attempt: 0,
      executionName: `${campaignId}-execution`,
      counts: {},
    },
    at,
  );
  await store.campaigns.linkFailureEvent(campaignId, event.seq, {});
  return event;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

async function exported(campaignId: string) {
  const out = await mkdtemp(join(dir, `${campaignId}-`));
  const manifest = await exportEvidence(store, campaignId, out);
  const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as CampaignSummary;
  const revocations = parse(await readFile(join(out, 'revocations.csv')), { columns: true }) as Record<
    string,
    string
  >[];
  return { out, manifest, summary, revocations };
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('failed-evidence'));
  dir = await mkdtemp(join(tmpdir(), 'failed-evidence-'));
  ({ revoked } = await reviewedCampaign(store, FAILED, 40, { revoke: false }));
  expect(revoked.length).toBeGreaterThanOrEqual(2);
  // ApplyRevocations started on the first revocation and died on the 401 before recording it.
  await store.outcomes.beginRevocation(FAILED, revoked[0] as string, new Date().toISOString());
  await fail(FAILED, 'ApplyRevocations', 'revoking');

  // The other one failed while its snapshot was being written: some grants, no snapshot_taken.
  await createTestCampaign(store, EARLY, 'snapshotting');
  await store.events.append(EARLY, 'campaign_started', { trigger: 'test' }, new Date());
  await store.grants.putMany(
    evidenceGrants(6).map((grant) => ({ ...grant, campaignId: EARLY, snapshotAt: new Date().toISOString() })),
  );
  await fail(EARLY, 'Snapshot', 'snapshotting');
});

afterAll(async () => {
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('evidence of a failed campaign', () => {
  it('says in summary.json that it failed, where and why, and how many revocations were left pending', async () => {
    const { summary } = await exported(FAILED);
    expect(summary.status).toBe('failed');
    expect(summary.outcome).toBe('failed');
    expect(summary.failure).toMatchObject({
      state: 'ApplyRevocations',
      error: 'AuthenticationError',
      cause: CAUSE,
      classification: 'authentication',
      statusBefore: 'revoking',
      attempt: 0,
      revocationsPending: 1,
    });
    expect(summary.failure?.eventSeq).toBe(summary.events);
    expect(summary.chainIntact).toBe(true);
  });

  it('shows the revocation cut off as pending and the ones never started as not applied', async () => {
    const { revocations } = await exported(FAILED);
    const status = new Map(revocations.map((row) => [row.grant_id, row.revocation_status]));
    expect(status.get(revoked[0] as string)).toBe('pending');
    for (const grantId of revoked.slice(1)) expect(status.get(grantId)).toBe('not_applied');
    expect(revocations.every((row) => row.verification === 'not_verified')).toBe(true);
  });

  it('verifies, with no finding, and reports the failure from the chain', async () => {
    const { out } = await exported(FAILED);
    const check = await verifyEvidence(out, UNSIGNED);
    expect(check).toMatchObject({
      ok: true,
      findings: [],
      failure: {
        state: 'ApplyRevocations',
        error: 'AuthenticationError',
        classification: 'authentication',
        cause: CAUSE,
      },
    });
  });

  it('still finds a pending revocation forged into a removal (manifest re-hashed)', async () => {
    const { out, manifest } = await exported(FAILED);
    const path = join(out, 'revocations.csv');
    const text = (await readFile(path, 'utf8')).replace(',pending,', ',removed,');
    await writeFile(path, text);
    for (const file of manifest.files) if (file.name === 'revocations.csv') file.sha256 = sha(text);
    await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest satisfies Manifest));
    // As removed, its start time now claims an application the chain does not record either.
    expect((await verifyEvidence(out, UNSIGNED)).findings).toEqual([
      `revocations.csv: ${revoked[0]} shows removed, the chain says not_applied`,
      `revocations.csv: ${revoked[0]} shows a applied_at the chain does not record`,
      // The summary's pending count is rebuilt from the rows the chain allows to be pending.
      'summary.json: failure.revocationsPending is 1, the chain and the other files give 0',
      "report.html: not what the folder's files render",
    ]);
  });

  it('verifies a campaign that failed before its snapshot was recorded, and says its grants are not anchored', async () => {
    const { out, summary } = await exported(EARLY);
    expect(summary).toMatchObject({ outcome: 'failed', grants: 6, failure: { state: 'Snapshot' } });
    const check = await verifyEvidence(out, UNSIGNED);
    expect(check.findings).toEqual([]);
    expect(check.failure?.state).toBe('Snapshot');
    expect(check.notes).toEqual([
      expect.stringMatching(/failed before its snapshot was recorded.* 6 grants/),
      // Built by hand: its campaign_started event names only the trigger, and nothing was assigned.
      expect.stringMatching(
        /^summary\.json: organization, requestedBy, .* not anchored in this campaign's chain/,
      ),
      expect.stringMatching(/^signatures\.jsonl: no signature, and the chain predates signing/),
    ]);
  });

  it('still requires the snapshot event of a campaign that did not fail', async () => {
    const { out } = await exported(EARLY);
    // Drop the failure from the chain (the last event) and re-point the manifest at the new head.
    const path = join(out, 'events.jsonl');
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    const text = `${lines.slice(0, -1).join('\n')}\n`;
    await writeFile(path, text);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as Manifest;
    for (const file of manifest.files) if (file.name === 'events.jsonl') file.sha256 = sha(text);
    manifest.chainHead = (JSON.parse(lines.at(-2) as string) as { hash: string }).hash;
    await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest));
    const check = await verifyEvidence(out, UNSIGNED);
    expect(check.failure).toBeUndefined();
    expect(check.findings).toContain('events.jsonl: no snapshot_taken event');
  });
});
