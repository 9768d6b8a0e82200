import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportEvidence } from '../../../functions/evidence/export';
import { DECISIONS_HEADER } from '../../../functions/evidence/format';
import { localSigner } from '../../../functions/evidence/signing/local';
import { type EvidenceCheck, verifyEvidence } from '../../../functions/evidence/verify';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import type { SlackSandbox } from '../../../sandbox/slack/server';
import { startTestStore } from '../../support/local-store';
import {
  type ChainEntry,
  copyFolder,
  editCsv,
  editFile,
  type FollowUp,
  parseCsv,
  readManifest,
  rewriteEventsFile,
  startReviewersSlack,
  workflowCampaign,
  writeManifest,
} from '../../support/tamper';

/*
 * Issue 10's evidence: a campaign run through the steps with a reminder, a delegation, an
 * escalation, a bulk keep and an end-of-window policy keep, exported once; each test forges a copy
 * of the folder as someone who can write it would (the manifest recomputed, a rewritten chain
 * re-hashed and its head re-pointed) and expects the finding that names the problem. A rewritten
 * chain also breaks the signatures: each test asks for the rule's own finding, not that one.
 */
let dynamo: LocalDynamo;
let store: Store;
let slack: SlackSandbox;
let dir: string;
let pristine: string;
let followUp: FollowUp;

let copies = 0;
async function tampered(tamper: (folder: string) => Promise<unknown>): Promise<string> {
  const folder = await copyFolder(pristine, join(dir, `case-${++copies}`));
  await tamper(folder);
  return folder;
}

async function expectFound(folder: string, problem: RegExp): Promise<EvidenceCheck> {
  const check = await verifyEvidence(folder);
  expect(check.ok, `verified despite the tampering; findings: ${check.findings.join(' | ')}`).toBe(false);
  expect(check.findings).toContainEqual(expect.stringMatching(problem));
  return check;
}

const find = (entries: ChainEntry[], type: string, grantId?: string): ChainEntry => {
  const found = entries.find((e) => e.type === type && (grantId === undefined || e.data.grantId === grantId));
  if (!found) throw new Error(`no ${type} event${grantId ? ` for ${grantId}` : ''}`);
  return found;
};

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('tamper-follow-up'));
  dir = await mkdtemp(join(tmpdir(), 'tamper-follow-up-'));
  slack = await startReviewersSlack();
  const campaign = await workflowCampaign(store, {
    executionName: 'tamper-follow-up',
    size: 26,
    slackApiUrl: slack.apiUrl,
    signer: await localSigner(join(dir, 'data')),
    followUp: true,
  });
  followUp = campaign.followUp as FollowUp;
  pristine = join(dir, 'pristine');
  await exportEvidence(store, campaign.campaignId, pristine);
});

afterAll(async () => {
  await slack?.close();
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("issue 10's evidence", () => {
  it('verifies as exported, and shows who decided, the bulk keep and the policy exception', async () => {
    expect(await verifyEvidence(pristine)).toMatchObject({ ok: true, findings: [] });
    expect((await readManifest(pristine)).format).toBe(2);
    const { header, rows } = parseCsv(await readFile(join(pristine, 'decisions.csv'), 'utf8'));
    expect(header).toEqual([...DECISIONS_HEADER]);
    const row = (grantId: string) => rows.find((r) => r.grant_id === grantId);
    expect(row(followUp.delegated)).toMatchObject({ reviewer: 'alice', decided_by: 'bob', exception: '' });
    expect(row(followUp.escalated)).toMatchObject({ reviewer: 'carol', decided_by: 'alice' });
    expect(row(followUp.bulk)).toMatchObject({ reviewer: 'bob', decided_by: 'bob', bulk: 'true' });
    expect(row(followUp.policy)).toMatchObject({
      reviewer: 'carol',
      decided_by: '',
      decided_by_slack_user: '',
      exception: 'end_of_window_policy',
    });
    const summary = JSON.parse(await readFile(join(pristine, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({
      format: 2,
      remindersSent: 1,
      escalated: 1,
      delegated: 1,
      bulkKept: 1,
      policyKept: 1,
      policyRevoked: 0,
      emailsSent: { reminder: 1 },
      cancelled: null,
    });
    const report = await readFile(join(pristine, 'report.html'), 'utf8');
    expect(report).toContain('access-review report 2');
    expect(report).toContain('Reminders, escalations and delegations');
    expect(report).toContain('Decided by the end-of-window policy');
    expect(report).toContain('bob (for alice)');
  });

  it('finds a decision by the original reviewer on a grant handed to someone else', async () => {
    const folder = await tampered(async (f) => {
      await rewriteEventsFile(f, (entries) => {
        const decision = find(entries, 'decision_recorded', followUp.delegated);
        delete decision.data.decidedBy;
        decision.data.decidedBySlackUserId = 'U0ALICE01';
        return entries;
      });
      await editCsv(f, 'decisions.csv', (rows) =>
        rows.map((r) =>
          r.grant_id === followUp.delegated
            ? { ...r, decided_by: 'alice', decided_by_slack_user: 'U0ALICE01' }
            : r,
        ),
      );
    });
    await expectFound(
      folder,
      new RegExp(`grant ${followUp.delegated} by alice, but event \\d+ handed the grant to bob`),
    );
  });

  it('finds a grant handed over to its own principal', async () => {
    const principal = parseCsv(await readFile(join(pristine, 'grants.csv'), 'utf8')).rows.find(
      (r) => r.grant_id === followUp.escalated,
    )?.principal as string;
    const folder = await tampered((f) =>
      rewriteEventsFile(f, (entries) => {
        find(entries, 'grant_reassigned', followUp.escalated).data.to = principal;
        return entries;
      }),
    );
    await expectFound(
      folder,
      new RegExp(`hands grant ${followUp.escalated} to ${principal}, whose own access it is`),
    );
  });

  it('finds a handed-over grant whose hand-over was dropped from the chain', async () => {
    const folder = await tampered((f) =>
      rewriteEventsFile(f, (entries) =>
        entries.filter((e) => !(e.type === 'grant_reassigned' && e.data.grantId === followUp.delegated)),
      ),
    );
    await expectFound(
      folder,
      new RegExp(`grant ${followUp.delegated} by bob, to whom no grant_reassigned handed it`),
    );
  });

  it('finds a hand-over after the grant was decided', async () => {
    const folder = await tampered((f) =>
      rewriteEventsFile(f, (entries) => {
        const handover = find(entries, 'grant_reassigned', followUp.escalated);
        const rest = entries.filter((e) => e !== handover);
        const decision = rest.indexOf(find(rest, 'decision_recorded', followUp.escalated));
        return [...rest.slice(0, decision + 1), handover, ...rest.slice(decision + 1)];
      }),
    );
    await expectFound(folder, new RegExp(`hands grant ${followUp.escalated} over after its decision`));
  });

  it('finds the end-of-window policy applied before the window closed', async () => {
    const folder = await tampered((f) =>
      rewriteEventsFile(f, (entries) => {
        const policy = find(entries, 'window_policy_applied', followUp.policy);
        const decision = find(entries, 'decision_recorded', followUp.policy);
        const rest = entries.filter((e) => e !== policy && e !== decision);
        const close = rest.indexOf(find(rest, 'reviewer_unresponsive'));
        return [...rest.slice(0, close), policy, decision, ...rest.slice(close)];
      }),
    );
    await expectFound(
      folder,
      new RegExp(
        `applies the end-of-window policy to grant ${followUp.policy} before carol's review window closed`,
      ),
    );
  });

  it('finds a revocation carried out after the campaign was cancelled', async () => {
    const folder = await tampered((f) =>
      rewriteEventsFile(f, (entries) => {
        const first = entries.findIndex((e) => e.type === 'revocation_applied');
        const cancel: ChainEntry = {
          type: 'campaign_cancelled',
          at: entries[first - 1]?.at as string,
          data: { by: 'U0SEC0001', byName: 'sec', reason: 'wrong scope', phase: 'revoking' },
        };
        find(entries, 'campaign_completed').data.status = 'cancelled';
        return [...entries.slice(0, first), cancel, ...entries.slice(first)];
      }),
    );
    await expectFound(
      folder,
      /carries out the revocation of grant g_[0-9a-f]+ after the campaign was cancelled/,
    );
  });

  it('finds a cancel the final event does not report', async () => {
    const folder = await tampered((f) =>
      rewriteEventsFile(f, (entries) => {
        const completed = entries.indexOf(find(entries, 'campaign_completed'));
        const cancel: ChainEntry = {
          type: 'campaign_cancelled',
          at: entries[completed]?.at as string,
          data: { by: 'U0SEC0001', byName: null, reason: null, phase: 'finalizing' },
        };
        return [...entries.slice(0, completed), cancel, ...entries.slice(completed)];
      }),
    );
    await expectFound(folder, /campaign_completed \(event \d+\) does not say cancelled/);
  });

  it("finds decisions.csv's justification or downgrade_to edited", async () => {
    const justified = await tampered((f) =>
      editCsv(f, 'decisions.csv', (rows) =>
        rows.map((r) =>
          r.grant_id === followUp.delegated ? { ...r, justification: 'approved by the CISO' } : r,
        ),
      ),
    );
    await expectFound(justified, new RegExp(`decisions.csv: ${followUp.delegated} does not match event`));
    const downgraded = await tampered((f) =>
      editCsv(f, 'decisions.csv', (rows) =>
        rows.map((r) => (r.grant_id === followUp.bulk ? { ...r, downgrade_to: 'member' } : r)),
      ),
    );
    await expectFound(downgraded, new RegExp(`decisions.csv: ${followUp.bulk} does not match event`));
  });

  it("finds the policy exception relabelled as a person's decision", async () => {
    const folder = await tampered((f) =>
      editCsv(f, 'decisions.csv', (rows) =>
        rows.map((r) => (r.grant_id === followUp.policy ? { ...r, exception: '', decided_by: 'carol' } : r)),
      ),
    );
    await expectFound(folder, new RegExp(`decisions.csv: ${followUp.policy} does not match event`));
  });

  it('finds summary.json hiding a delegation', async () => {
    const folder = await tampered((f) =>
      editFile(f, 'summary.json', (text) => text.replace('"delegated": 1', '"delegated": 0')),
    );
    await expectFound(folder, /summary.json: delegated is 0, the chain and the other files give 1/);
  });

  it('finds a format 2 folder passed off as format 1', async () => {
    const folder = await tampered(async (f) => {
      const manifest = await readManifest(f);
      delete manifest.format;
      await writeManifest(f, manifest);
    });
    await expectFound(folder, /decisions.csv.*the header is not the format's/);
  });
});

describe('a format 1 folder (written by the release before issue 10)', () => {
  const FIXTURE = join(import.meta.dirname, 'fixtures', 'format-1');

  it('still verifies, report included', async () => {
    expect(await verifyEvidence(FIXTURE)).toMatchObject({ ok: true, findings: [] });
  });

  it('is still held to its own format: a format 2 column added to it is found', async () => {
    const folder = join(dir, 'format-1-edited');
    await cp(FIXTURE, folder, { recursive: true });
    await editFile(folder, 'summary.json', (text) => text.replace(/\n}\n$/, ',\n  "delegated": 0\n}\n'));
    await expectFound(folder, /summary.json: delegated is 0, the chain and the other files give nothing/);
  });
});
