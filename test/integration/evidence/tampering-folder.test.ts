import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckResult, type Connector, connectorRegistry } from '../../../functions/connectors/connector';
import { teamMembershipKey } from '../../../functions/connectors/github/keys';
import { type Grant, makeGrant } from '../../../functions/core/grant';
import { EVIDENCE_FILES, exportEvidence } from '../../../functions/evidence/export';
import { GRANT_HASH_VERSION, grantContentHash } from '../../../functions/evidence/grant-digest';
import { localSigner } from '../../../functions/evidence/signing/local';
import type { ChainSigner } from '../../../functions/evidence/signing/signer';
import { type EvidenceCheck, verifyEvidence } from '../../../functions/evidence/verify';
import { applyRevocations } from '../../../functions/steps/apply-revocations';
import { finalizeCampaign } from '../../../functions/steps/finalize';
import { takeSnapshot } from '../../../functions/steps/snapshot';
import { verifyRevocations } from '../../../functions/steps/verify-revocations';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import type { SlackSandbox } from '../../../sandbox/slack/server';
import { passGuard } from '../../support/guard';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';
import {
  copyFolder,
  folderTamper,
  parseCsv,
  readManifest,
  signHead,
  startReviewersSlack,
  workflowCampaign,
} from '../../support/tamper';

/*
 * Tampering with an evidence folder, as anyone who can write it could: every forgery recomputes
 * the manifest's hashes (and, where it rewrites the chain, its head), so only checks that go
 * deeper than the manifest can find it. One campaign is built through the steps and finalized,
 * exported once; each test tampers with a copy of that folder.
 */
let dynamo: LocalDynamo;
let store: Store;
let dir: string;
let pristine: string;
let slack: SlackSandbox;
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Content of a file outside the folder that nothing may read (it must never show up anywhere). */
const SECRET = `outside-the-folder-${process.pid}-do-not-read`;
let outsideFile: string;
let signer: ChainSigner;

let copies = 0;
async function tampered(tamper: (folder: string) => Promise<void>): Promise<string> {
  const folder = await copyFolder(pristine, join(dir, `case-${++copies}`));
  await tamper(folder);
  return folder;
}

/** verify-evidence must answer (not throw), fail, and say `problem`. */
async function expectFound(folder: string, problem: RegExp): Promise<EvidenceCheck> {
  const check = await verifyEvidence(folder);
  expect(check.ok, `verified despite the tampering; findings: ${check.findings.join(' | ')}`).toBe(false);
  expect(check.findings).toContainEqual(expect.stringMatching(problem));
  for (const finding of check.findings) expect(finding).not.toContain(SECRET);
  return check;
}

interface CliRun {
  code: number | undefined;
  stdout: string;
  stderr: string;
}

/** `access-review verify-evidence DIR` as a child process (it takes seconds to start: run early). */
function verifyWithCli(folder: string): Promise<CliRun> {
  return promisify(execFile)(
    join(ROOT, 'node_modules/.bin/tsx'),
    ['bin/access-review.ts', 'verify-evidence', folder],
    { cwd: ROOT, timeout: 55_000 },
  ).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? String(error),
    }),
  );
}
let cliRun: Promise<CliRun>;

async function rows(folder: string, name: string) {
  return parseCsv(await readFile(join(folder, name), 'utf8')).rows;
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('tamper-folder'));
  dir = await mkdtemp(join(tmpdir(), 'tamper-folder-'));
  outsideFile = join(dir, 'outside.txt');
  await writeFile(outsideFile, SECRET);
  signer = await localSigner(join(dir, 'data'));
  slack = await startReviewersSlack();
  const campaign = await workflowCampaign(store, {
    executionName: 'tamper-folder',
    size: 26,
    slackApiUrl: slack.apiUrl,
    signer,
  });
  pristine = join(dir, 'pristine');
  await exportEvidence(store, campaign.campaignId, pristine);
  // The CLI's folder: several tamperings at once, checked by the last test; started now so the
  // child's start-up overlaps the other tests.
  const cliFolder = await tampered(async (f) => {
    await folderTamper.manifestEntry(f, '../../../etc/hostname', '/etc/hostname');
    await folderTamper.manifestEntry(f, relative(f, outsideFile), outsideFile);
    await folderTamper.nonJsonEventLine(f, 3);
    await folderTamper.removeFile(f, 'reviewers.csv');
  });
  cliRun = verifyWithCli(cliFolder);
});

afterAll(async () => {
  // The child reads the folder: let it finish before the folder goes.
  await cliRun;
  await slack?.close();
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('an evidence folder someone tampered with', () => {
  it('verifies as exported', async () => {
    expect(await verifyEvidence(pristine)).toMatchObject({ ok: true, findings: [] });
  });

  it('finds reviewers.csv saying the reviewer who never answered completed the review', async () => {
    expect((await rows(pristine, 'reviewers.csv')).find((row) => row.reviewer === 'carol')?.status).toBe(
      'unresponsive',
    );
    const folder = await tampered((f) => folderTamper.reviewerCompleted(f, 'carol'));
    await expectFound(
      folder,
      /reviewers\.csv line \d+: carol's status is "completed", the chain says "unresponsive"/,
    );
  });

  it.each([
    ['revocationsApplied', 0],
    ['reviewersUnresponsive', 0],
  ] as const)('finds summary.json with %s changed', async (field, value) => {
    const folder = await tampered((f) => folderTamper.summaryCount(f, field, value));
    await expectFound(
      folder,
      new RegExp(`summary\\.json: ${field} is ${value}, the chain and the other files give`),
    );
  });

  it.each(['reviewer', 'routing_reason'] as const)(
    'finds the %s column of grants.csv changed',
    async (column) => {
      const grant = (await rows(pristine, 'grants.csv')).find((row) => row.reviewer === 'alice');
      const grantId = grant?.grant_id as string;
      const value = column === 'reviewer' ? 'bob' : 'owner of everything, said nobody';
      const folder = await tampered((f) => folderTamper.grantColumn(f, grantId, column, value));
      await expectFound(
        folder,
        /grants\.csv: the reviewer and routing_reason columns do not hash to the assignment digest/,
      );
    },
  );

  it('finds events.jsonl rewritten with a new chain head (and decisions.csv to match)', async () => {
    const decided = (await rows(pristine, 'decisions.csv')).find((row) => row.decision === 'keep');
    const folder = await tampered((f) =>
      folderTamper.rewriteChain(f, decided?.grant_id as string, 'approved by the CTO'),
    );
    await expectFound(folder, /signatures\.jsonl seq \d+: .*the chain was rewritten at or before seq \d+/);
  });

  it('finds signing-key.pem replaced by another key', async () => {
    const other = await localSigner(join(dir, 'forger'));
    const folder = await tampered(async (f) => folderTamper.swapKeyFile(f, await other.publicKeyPem()));
    await expectFound(folder, /which signing-key\.pem does not carry/);
  });

  it('finds a chain rewritten and signed again with another key, against the key the auditor pins', async () => {
    const pin = { publicKeyPem: await signer.publicKeyPem() };
    expect(await verifyEvidence(pristine, { pin })).toMatchObject({ ok: true, findings: [] });
    const decided = (await rows(pristine, 'decisions.csv')).find((row) => row.decision === 'keep');
    const other = await localSigner(join(dir, 'forger'));
    const folder = await tampered(async (f) => {
      await folderTamper.rewriteChain(f, decided?.grant_id as string, 'approved by the CTO');
      await folderTamper.resignWith(f, other);
    });
    const check = await verifyEvidence(folder, { pin });
    expect(check.ok).toBe(false);
    expect(check.findings).toContainEqual(expect.stringMatching(/not the pinned key/));
  });

  it('finds signatures.jsonl deleted, and unlisted in the manifest', async () => {
    const folder = await tampered((f) => folderTamper.removeFile(f, 'signatures.jsonl', { unlist: true }));
    await expectFound(folder, /manifest\.json: does not list signatures\.jsonl, which the format requires/);
    await expectFound(folder, /signatures\.jsonl: missing/);
  });

  it('finds the chain truncated before the revocations (revocations.csv rewritten to match)', async () => {
    const folder = await tampered(folderTamper.truncateBeforeRevocations);
    await expectFound(
      folder,
      /signatures\.jsonl seq \d+ is signed, but the chain ends at seq \d+: signed events were removed/,
    );
    await expectFound(folder, /neither campaign_completed nor campaign_failed/);
  });

  it('finds a manifest that lists no file', async () => {
    const folder = await tampered(folderTamper.emptyManifest);
    await expectFound(folder, /manifest\.json: does not list events\.jsonl, which the format requires/);
  });

  it('refuses a manifest entry outside the folder, without reading it', async () => {
    const folder = await tampered(async (f) => {
      await folderTamper.manifestEntry(f, '../../../etc/hostname', '/etc/hostname');
      await folderTamper.manifestEntry(f, relative(f, outsideFile), outsideFile);
    });
    const check = await expectFound(
      folder,
      /"\.\.\/\.\.\/\.\.\/etc\/hostname", a path, not a file of the format; not read/,
    );
    expect(check.findings).toContainEqual(expect.stringContaining(relative(folder, outsideFile)));
  });

  it('refuses a file that is a symlink (to an identical copy outside the folder)', async () => {
    const folder = await tampered((f) => folderTamper.symlinkFile(f, 'reviewers.csv', join(dir, 'copy.csv')));
    await expectFound(folder, /reviewers\.csv: a symbolic link, not read/);
  });

  it.each(EVIDENCE_FILES.map((name) => [name]))('reports %s missing, without a stack trace', async (name) => {
    const folder = await tampered((f) => folderTamper.removeFile(f, name));
    await expectFound(folder, new RegExp(`^${name.replace('.', '\\.')}: missing$`));
  });

  it.each(['events.jsonl', 'grants.csv'])('reports %s missing and unlisted in the manifest', async (name) => {
    const folder = await tampered((f) => folderTamper.removeFile(f, name, { unlist: true }));
    await expectFound(
      folder,
      new RegExp(`manifest\\.json: does not list ${name.replace('.', '\\.')}, which the format requires`),
    );
    await expectFound(folder, new RegExp(`^${name.replace('.', '\\.')}: missing$`));
  });

  it('reports a line of events.jsonl that is not JSON, without a stack trace', async () => {
    const folder = await tampered((f) => folderTamper.nonJsonEventLine(f, 3));
    await expectFound(folder, /events\.jsonl line 4: not JSON/);
  });

  it('verify-evidence (the CLI) exits 1 with its findings on stderr, no stack trace, nothing read outside', async () => {
    const run = await cliRun;
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.code, output).toBe(1);
    expect(run.stderr).toMatch(/etc\/hostname/);
    expect(run.stderr).toMatch(/events\.jsonl.*line 4/);
    expect(run.stderr).toMatch(/reviewers\.csv.*missing/);
    expect(output).not.toMatch(/^\s+at /m);
    expect(output).not.toContain(SECRET);
    const hostname = (await readFile('/etc/hostname', 'utf8')).trim();
    if (hostname.length >= 8) expect(output).not.toContain(hostname);
  });
});

describe('CSV cells a spreadsheet would run as a formula', () => {
  const CAMPAIGN_CSV = 'c-tamper-csv';
  const PRINCIPALS = ['=HYPERLINK("http://evil.example","x")', '@SUM(1+1)', '+1+1', '-1+1', '\tcmd', '\rcmd'];
  const grants: Grant[] = PRINCIPALS.map((principal) =>
    makeGrant(teamMembershipKey('acme', 'platform', principal, 'member')),
  );
  let folder: string;

  function connector(present: Set<string>): Connector {
    return {
      name: 'github',
      async *snapshot() {
        yield* grants;
      },
      async revoke(grant) {
        present.delete(grant.grantId);
        return {
          outcome: 'removed',
          appliedAt: new Date().toISOString(),
          action: `=removed ${grant.principal}`,
        };
      },
      async check(grant): Promise<CheckResult> {
        const checkedAt = new Date().toISOString();
        return present.has(grant.grantId)
          ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission: 'member' }] }
          : { status: 'absent', checkedAt };
      },
      usage: () => ({ requests: {}, points: {} }),
    };
  }

  beforeAll(async () => {
    const present = new Set(grants.map((grant) => grant.grantId));
    const services = testServices(store, {
      connectors: connectorRegistry({ github: async () => connector(present) }),
    });
    await createTestCampaign(store, CAMPAIGN_CSV, 'snapshotting');
    await takeSnapshot({ campaignId: CAMPAIGN_CSV }, services);
    await store.campaigns.advance(CAMPAIGN_CSV, 'assigning');
    for (const [index, grant] of grants.entries()) {
      await store.grants.assign(CAMPAIGN_CSV, grant.grantId, 'alice', '=owner of acme/platform');
      const decision = index % 2 === 0 ? 'revoke' : 'keep';
      const justification = `${['=', '+', '-', '@'][index % 4]}cmd|' /C calc'!A0`;
      await store.decisions.record({
        campaignId: CAMPAIGN_CSV,
        grantId: grant.grantId,
        decision,
        reviewer: 'alice',
        decidedBySlackUserId: 'U0ALICE01',
        decidedAt: new Date().toISOString(),
        justification,
        channel: 'slack',
      });
    }
    await store.campaigns.advance(CAMPAIGN_CSV, 'in_review');
    await store.campaigns.advance(CAMPAIGN_CSV, 'revoking');
    await passGuard(store, services, CAMPAIGN_CSV);
    await applyRevocations({ campaignId: CAMPAIGN_CSV }, services);
    await store.campaigns.advance(CAMPAIGN_CSV, 'verifying');
    await verifyRevocations({ campaignId: CAMPAIGN_CSV }, services);
    await finalizeCampaign({ campaignId: CAMPAIGN_CSV }, services);
    await signHead(store, CAMPAIGN_CSV, signer);
    folder = join(dir, 'csv-injection');
    await exportEvidence(store, CAMPAIGN_CSV, folder);
  });

  it('starts every cell that begins with =, +, -, @, tab or CR with a quote', async () => {
    const risky = /^[=+\-@\t\r]/;
    for (const name of ['grants.csv', 'decisions.csv', 'revocations.csv', 'reviewers.csv']) {
      for (const row of await rows(folder, name)) {
        for (const [column, cell] of Object.entries(row)) {
          expect(cell, `${name} ${row.grant_id ?? row.reviewer} ${column}`).not.toMatch(risky);
        }
      }
    }
    const principals = (await rows(folder, 'grants.csv')).map((row) => row.principal);
    expect(principals.sort()).toEqual(PRINCIPALS.map((principal) => `'${principal}`).sort());
  });

  it('hashes each grant as it is (the quote taken off again), and verifies', async () => {
    const byId = new Map((await rows(folder, 'grants.csv')).map((row) => [row.grant_id, row.content_sha256]));
    for (const grant of grants)
      expect(byId.get(grant.grantId)).toBe(grantContentHash(grant, GRANT_HASH_VERSION));
    expect(await verifyEvidence(folder)).toMatchObject({ ok: true, findings: [] });
    const manifest = await readManifest(folder);
    expect(manifest.files.length).toBeGreaterThanOrEqual(EVIDENCE_FILES.length);
  });
});
