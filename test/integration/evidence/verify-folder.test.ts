import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedSource } from '../../../bench/evidence';
import { exportEvidence, type Manifest } from '../../../functions/evidence/export';
import { EVIDENCE_FILES } from '../../../functions/evidence/format';
import { verifyEvidence } from '../../../functions/evidence/verify';
import { type CampaignEvent, eventHash, GENESIS_HASH } from '../../../functions/store/events';

/*
 * verify-evidence on folders that are not what the export wrote: it never reads outside the
 * folder, never throws, and names the file (and line) of every problem. The campaign is the
 * benchmark's generated one (a signed chain, review events, the assignment digest) at 400 grants:
 * exported once, copied per case.
 */
let dir: string;
let clean: string;
const sha = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verify-folder-'));
  clean = join(dir, 'clean');
  await exportEvidence(generatedSource(400), 'bench-evidence', clean, new Date('2026-10-01T09:00:00.000Z'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let cases = 0;
async function copy(): Promise<string> {
  const out = join(dir, `case-${cases++}`);
  await cp(clean, out, { recursive: true });
  return out;
}

async function readManifest(out: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as Manifest;
}

/** Writes a file and re-hashes it in the manifest, as someone who can write the folder would. */
async function rewrite(out: string, name: string, text: string, edit?: (m: Manifest) => void): Promise<void> {
  await writeFile(join(out, name), text);
  const manifest = await readManifest(out);
  const entry = manifest.files.find((file) => file.name === name);
  if (entry) entry.sha256 = sha(text);
  edit?.(manifest);
  await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest));
}

/** Edits the chain as a list of events, re-hashes it from the start, and re-points the manifest. */
async function rewriteChain(
  out: string,
  edit: (events: CampaignEvent[]) => CampaignEvent[],
): Promise<string[]> {
  const text = await readFile(join(out, 'events.jsonl'), 'utf8');
  const events = edit(
    text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as CampaignEvent),
  );
  let prevHash = GENESIS_HASH;
  const rehashed = events.map((event, index) => {
    const partial = { ...event, seq: index + 1, prevHash };
    const hashed = { ...partial, hash: eventHash(partial) };
    prevHash = hashed.hash;
    return hashed;
  });
  await rewrite(out, 'events.jsonl', `${rehashed.map((e) => JSON.stringify(e)).join('\n')}\n`, (m) => {
    m.chainHead = prevHash;
    m.events = rehashed.length;
  });
  return (await verifyEvidence(out)).findings;
}

describe('verify-evidence reads only the folder, and never throws', () => {
  it('verifies the folder as exported (every file of the format listed once)', async () => {
    const check = await verifyEvidence(clean);
    expect(check.findings).toEqual([]);
    expect(check.ok).toBe(true);
    expect((await readManifest(clean)).files.map((file) => file.name)).toEqual([...EVIDENCE_FILES]);
  });

  it('refuses a manifest entry that is a path, and names outside the format, without opening them', async () => {
    const out = await copy();
    const manifest = await readManifest(out);
    manifest.files.push(
      { name: '../../../etc/hostname', sha256: sha(await readFile('/etc/hostname')), bytes: 1 },
      { name: 'notes.txt', sha256: sha(''), bytes: 0 },
    );
    await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest));
    const { ok, findings } = await verifyEvidence(out);
    expect(ok).toBe(false);
    expect(findings).toEqual([
      `manifest.json: files[${EVIDENCE_FILES.length}] is "../../../etc/hostname", a path, not a file of the format; not read`,
      `manifest.json: files[${EVIDENCE_FILES.length + 1}] is "notes.txt", not a file of the format; not read`,
    ]);
  });

  it('finds a manifest that lists no file ("files": []), and one that lists a file twice', async () => {
    const out = await copy();
    await rewrite(out, 'manifest.json', JSON.stringify({ ...(await readManifest(out)), files: [] }));
    expect((await verifyEvidence(out)).findings).toEqual(
      EVIDENCE_FILES.map((name) => `manifest.json: does not list ${name}, which the format requires`),
    );
    const twice = await copy();
    const manifest = await readManifest(twice);
    manifest.files.push({ ...(manifest.files[0] as Manifest['files'][number]) });
    await writeFile(join(twice, 'manifest.json'), JSON.stringify(manifest));
    expect((await verifyEvidence(twice)).findings).toEqual([
      'manifest.json: grants.csv is listed more than once',
    ]);
  });

  it('does not follow a file replaced by a symbolic link (to /etc/hostname), and says so', async () => {
    const out = await copy();
    await unlink(join(out, 'reviewers.csv'));
    await symlink('/etc/hostname', join(out, 'reviewers.csv'));
    const { findings } = await verifyEvidence(out);
    expect(findings).toContain('reviewers.csv: a symbolic link, not read');
    expect(findings.join('\n')).not.toMatch(/reviewers\.csv: SHA-256/);
  });

  it('reports a missing file, a manifest that is not JSON, a non-JSON event line and a broken CSV as findings', async () => {
    const missing = await copy();
    await unlink(join(missing, 'decisions.csv'));
    expect((await verifyEvidence(missing)).findings).toContain('decisions.csv: missing');

    const manifest = await copy();
    await writeFile(join(manifest, 'manifest.json'), '{"files": [');
    const noManifest = await verifyEvidence(manifest);
    expect(noManifest.ok).toBe(false);
    expect(noManifest.findings[0]).toMatch(/^manifest\.json: not JSON/);

    const events = await copy();
    const lines = (await readFile(join(events, 'events.jsonl'), 'utf8')).split('\n');
    lines[2] = '{"seq": 3, "type": "snapshot_taken"';
    await rewrite(events, 'events.jsonl', lines.join('\n'));
    const badLine = (await verifyEvidence(events)).findings;
    expect(badLine).toContainEqual(expect.stringMatching(/^events\.jsonl line 3: not JSON \(/));
    expect(badLine).toContain('events.jsonl: chain broken at seq 3: line 3 is not JSON');

    const csv = await copy();
    const reviewers = await readFile(join(csv, 'reviewers.csv'), 'utf8');
    await rewrite(csv, 'reviewers.csv', reviewers.replace('reviewer1,', '"reviewer1,'));
    expect((await verifyEvidence(csv)).findings).toContainEqual(
      expect.stringMatching(/^reviewers\.csv line \d+: not valid CSV \(CSV_/),
    );
  });

  it('finds a CSV cell that begins with a formula character (not neutralised), once per file', async () => {
    const out = await copy();
    const text = await readFile(join(out, 'decisions.csv'), 'utf8');
    const lines = text.split('\n');
    // The second-to-last column (bulk) of two rows: a formula a spreadsheet would run.
    const edited = lines.map((line, index) =>
      index === 1 || index === 2 ? line.replace(/,([^,]*),([^,]*)$/, ',=1+1,$2') : line,
    );
    await rewrite(out, 'decisions.csv', edited.join('\n'));
    const findings = (await verifyEvidence(out)).findings;
    expect(findings.filter((finding) => /not neutralised/.test(finding))).toEqual([
      'decisions.csv line 2, column bulk: a cell that begins with a formula character is not neutralised (2 such cells in the file)',
    ]);
  });
});

describe('completeness rules in the chain (each chain re-hashed, the manifest re-pointed)', () => {
  it('finds the chain cut before its terminal event', async () => {
    const findings = await rewriteChain(await copy(), (events) => events.slice(0, -1));
    expect(findings).toContainEqual(
      expect.stringMatching(
        /^events\.jsonl: the chain ends at event \d+ \(revocation_verified\) with neither campaign_completed nor campaign_failed/,
      ),
    );
  });

  it('finds a second decision on a grant, even chained correctly', async () => {
    const findings = await rewriteChain(await copy(), (events) => {
      const first = events.findIndex((e) => e.type === 'decision_recorded');
      const decision = events[first] as CampaignEvent;
      const again = { ...decision, data: { ...decision.data, decision: 'keep', justification: 'override' } };
      return [...events.slice(0, first + 1), again, ...events.slice(first + 1)];
    });
    expect(findings).toContainEqual(
      expect.stringMatching(
        /^events\.jsonl: grant g_\w+ has 2 decisions \(events \d+, \d+\); a grant is decided once$/,
      ),
    );
  });

  it("finds a decision recorded after the reviewer's review closed, and one by a Slack user not theirs", async () => {
    const findings = await rewriteChain(await copy(), (events) => {
      const completed = events.findIndex((e) => e.type === 'review_completed');
      const decision = events.find((e) => e.type === 'decision_recorded') as CampaignEvent;
      const moved = events.filter((e) => e !== decision);
      const forged = { ...decision, data: { ...decision.data, decidedBySlackUserId: 'UMALLORY' } };
      return [...moved.slice(0, completed + 10), forged, ...moved.slice(completed + 10)];
    });
    expect(findings).toContainEqual(
      expect.stringMatching(
        /records a decision on grant g_\w+ by reviewer\d+ after their review closed \(event \d+, completed\)/,
      ),
    );
    expect(findings).toContainEqual(
      expect.stringMatching(/by Slack user UMALLORY, not reviewer\d+'s \(UREVIEWER\d+\)/),
    );
  });

  it('finds every revocation and verification event deleted', async () => {
    const findings = await rewriteChain(await copy(), (events) =>
      events.filter((e) => e.type !== 'revocation_applied' && e.type !== 'revocation_verified'),
    );
    expect(findings).toContainEqual(
      expect.stringMatching(
        /was decided revoke \(event \d+\) but the chain records no revocation outcome for it/,
      ),
    );
  });

  it('finds a revocation applied with its verification deleted', async () => {
    const findings = await rewriteChain(await copy(), (events) => {
      const verified = events.findIndex((e) => e.type === 'revocation_verified');
      return events.filter((_, index) => index !== verified);
    });
    expect(findings).toContainEqual(
      expect.stringMatching(
        /^events\.jsonl: the revocation of grant g_\w+ \(event \d+, removed\) has no verification in the chain$/,
      ),
    );
  });
});

describe('reviewers.csv, summary.json and grants.csv assignments rebuilt from the chain', () => {
  it('finds reviewers.csv, summary.json and a routing_reason edited (files re-hashed)', async () => {
    const reviewers = await copy();
    const text = await readFile(join(reviewers, 'reviewers.csv'), 'utf8');
    await rewrite(reviewers, 'reviewers.csv', text.replace('reviewer0,UREVIEWER0', 'reviewer0,UMALLORY'));
    expect((await verifyEvidence(reviewers)).findings).toContain(
      'reviewers.csv line 2: reviewer0\'s slack_user_id is "UMALLORY", the chain says "UREVIEWER0"',
    );

    const summary = await copy();
    const parsed = JSON.parse(await readFile(join(summary, 'summary.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    await rewrite(summary, 'summary.json', `${JSON.stringify({ ...parsed, revoked: 0 }, null, 2)}\n`);
    expect((await verifyEvidence(summary)).findings).toContainEqual(
      expect.stringMatching(/^summary\.json: revoked is 0, the chain and the other files give \d+$/),
    );

    const grants = await copy();
    const rows = await readFile(join(grants, 'grants.csv'), 'utf8');
    await rewrite(grants, 'grants.csv', rows.replace(' (config)', ' (security said so)'));
    expect((await verifyEvidence(grants)).findings).toContainEqual(
      expect.stringMatching(
        /^grants\.csv: the reviewer and routing_reason columns do not hash to the assignment digest/,
      ),
    );
  });

  it('says, in a note, what an older chain does not anchor (no assignment digest, no signature)', async () => {
    const out = await copy();
    await rewriteChain(out, (events) =>
      events.map((e) =>
        e.type === 'reviewers_assigned'
          ? {
              ...e,
              data: Object.fromEntries(Object.entries(e.data).filter(([key]) => key !== 'assignmentDigest')),
            }
          : e,
      ),
    );
    await rewrite(out, 'signatures.jsonl', '');
    // By default a chain cannot pass itself off as older than signing: that is a forger's downgrade.
    expect((await verifyEvidence(out)).findings).toContain(
      "signatures.jsonl: no signature: nothing outside the table anchors this campaign's chain (for a campaign from before signing, verify with --allow-unsigned)",
    );
    const check = await verifyEvidence(out, { allowUnsigned: true });
    // The chain was re-hashed: the summary's head (and the report showing it) follow the old one.
    expect(check.findings.filter((f) => !/^(report\.html|summary\.json: chainHead)/.test(f))).toEqual([]);
    expect(check.notes).toEqual([
      "grants.csv: the reviewer and routing_reason columns are not anchored in this campaign's chain (its reviewers_assigned event predates the assignment digest)",
      "signatures.jsonl: no signature, and the chain predates signing (no assignment digest): nothing outside the table anchors this campaign's chain (accepted: --allow-unsigned)",
    ]);
  });
});
