/**
 * Evidence export and verify-evidence at 100k and 1M grants: wall time and peak RSS, each measured
 * in a child process of its own (its peak RSS, VmHWM), so one run's heap never counts
 * against another.
 *
 * 100k grants are read from dynalite (filled by this process; the child exporting them talks to it
 * over loopback, so dynalite's own memory is not the export's). 1M grants would take many minutes
 * to write to dynalite (about 10,000 items in 2 s), so the 1M export reads the same campaign shape
 * from a generated EvidenceSource: the pages the table would answer, made on demand. 100k is run
 * both ways so the two sources can be compared at the same size.
 *
 *   npx tsx bench/evidence.ts            prints the Markdown
 */
import '../lib/local/node20';
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { teamMembershipKey, userRepositoryKey } from '../functions/connectors/github/keys';
import { exportEvidence } from '../functions/evidence/export';
import { assignmentLine, GRANT_HASH_VERSION, grantContentHash } from '../functions/evidence/grant-digest';
import type { SignatureSource } from '../functions/evidence/signing/evidence';
import { keyFingerprint, spkiPem } from '../functions/evidence/signing/signer';
import { CHAIN_SIGNING_ALGORITHM, chainHeadStatement } from '../functions/evidence/signing/statement';
import type { EvidenceSource, TaskLine } from '../functions/evidence/source';
import { verifyEvidence } from '../functions/evidence/verify';
import type { Campaign } from '../functions/store/campaigns';
import type { Decision } from '../functions/store/decisions';
import { type CampaignEvent, type EventType, eventHash, GENESIS_HASH } from '../functions/store/events';
import type { StoredGrant } from '../functions/store/grants';
import { createStore } from '../functions/store/index';
import type { Revocation, Verification } from '../functions/store/outcomes';
import { createTableRef, keys, type TableRef } from '../functions/store/table';

const CAMPAIGN_ID = 'bench-evidence';
const AT = '2026-10-01T09:00:00.000Z';
const PAGE = 1000;

/*
 * The campaign's shape, a pure function of the grant's position i (ids ascend with i):
 * every tenth grant derived (not reviewable), every twentieth reviewable one routed to nobody,
 * every other routed one decided (keep, or revoke for i ≡ 2 mod 40), each revocation removed and
 * verified absent; one reviewer per 1,000 grants.
 */
const grantIdAt = (i: number) => `g_${i.toString(16).padStart(32, '0')}`;
const reviewable = (i: number) => i % 10 !== 0;
const routed = (i: number) => reviewable(i) && i % 20 !== 1;
const decided = (i: number) => routed(i) && i % 2 === 0;
const revoked = (i: number) => decided(i) && i % 40 === 2;
/** Decided positions in a block of 20: 2 4 6 8 12 14 16 18 (0 and 10 are derived). */
const DECIDED_IN_BLOCK = [2, 4, 6, 8, 12, 14, 16, 18];
const decidedBefore = (i: number) =>
  Math.floor(i / 20) * 8 + DECIDED_IN_BLOCK.filter((position) => position < i % 20).length;
const revokedBefore = (i: number) => Math.floor((i + 37) / 40);
const reviewersFor = (size: number) => Math.max(3, Math.round(size / 1000));

function grantAt(i: number, size: number): StoredGrant {
  const login = `user${i % 3000}`;
  const key =
    i % 3 === 0
      ? teamMembershipKey('acme', `team-${i % 300}`, login, 'member')
      : userRepositoryKey('acme', `repo-${i % 10_000}`, login, i % 7 === 0 ? 'admin' : 'write', {
          kind: 'direct',
        });
  const reviewer = routed(i) ? `reviewer${i % reviewersFor(size)}` : undefined;
  // As makeGrant builds it, with the generated id (makeGrant's own id would cost a hash per grant).
  return {
    ...key,
    grantId: grantIdAt(i),
    reviewable: reviewable(i),
    derivedFrom: reviewable(i) ? [] : [grantIdAt(i + 1)],
    raw: {},
    flags: i % 50 === 0 ? ['two_factor_disabled'] : [],
    campaignId: CAMPAIGN_ID,
    snapshotAt: AT,
    ...(reviewer ? { reviewer, routingReason: `owner of ${key.resource} (config)` } : {}),
    ...(reviewable(i) && !reviewer ? { routingReason: 'no eligible reviewer: only the holder owns it' } : {}),
  };
}

function decisionAt(i: number, size: number): Decision {
  const reviewer = `reviewer${i % reviewersFor(size)}`;
  return {
    campaignId: CAMPAIGN_ID,
    grantId: grantIdAt(i),
    decision: revoked(i) ? 'revoke' : 'keep',
    reviewer,
    decidedBySlackUserId: `U${reviewer.toUpperCase()}`,
    decidedAt: AT,
    ...(i % 8 === 0 ? { justification: 'Revoke — person left or changed team' } : {}),
    channel: 'slack',
    eventSeq: FIRST_DECISION_SEQ(size) + decidedBefore(i),
  };
}

/** Before the decisions: started, snapshot, assigned, then one review_requested per reviewer. */
const FIRST_DECISION_SEQ = (size: number) => 4 + reviewersFor(size);

function totals(size: number) {
  return { decisions: decidedBefore(size), revocations: revokedBefore(size) };
}

function revocationAt(i: number, size: number): Revocation {
  const { decisions } = totals(size);
  return {
    campaignId: CAMPAIGN_ID,
    grantId: grantIdAt(i),
    status: 'removed',
    at: AT,
    action: `DELETE /repos/acme/repo-${i % 10_000}/collaborators/user${i % 3000}: removed`,
    eventSeq: FIRST_DECISION_SEQ(size) + decisions + reviewersFor(size) + revokedBefore(i),
  };
}

function verificationAt(i: number, size: number): Verification {
  const { decisions, revocations } = totals(size);
  return {
    campaignId: CAMPAIGN_ID,
    grantId: grantIdAt(i),
    status: 'absent',
    checkedAt: AT,
    paths: [],
    eventSeq: FIRST_DECISION_SEQ(size) + decisions + reviewersFor(size) + revocations + revokedBefore(i),
  };
}

function* positions(size: number, keep: (i: number) => boolean): Generator<number> {
  for (let i = 0; i < size; i++) if (keep(i)) yield i;
}

function* pagesOf<T>(items: Iterable<T>): Generator<T[]> {
  let page: T[] = [];
  for (const item of items) {
    page.push(item);
    if (page.length === PAGE) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

/** The chain, hashed as it is generated (each call starts again from the genesis hash). */
function* eventsOf(size: number, digest: string): Generator<CampaignEvent> {
  let seq = 0;
  let prevHash = GENESIS_HASH;
  const next = (type: EventType, data: Record<string, unknown>): CampaignEvent => {
    const partial = { campaignId: CAMPAIGN_ID, seq: ++seq, type, at: AT, data, prevHash };
    const event = { ...partial, hash: eventHash(partial) };
    prevHash = event.hash;
    return event;
  };
  const tasks = tasksOf(size);
  yield next('campaign_started', { organization: 'acme', trigger: 'bench', requestedBy: 'bench' });
  yield next('snapshot_taken', { grants: size, digest, hashVersion: GRANT_HASH_VERSION });
  yield next('reviewers_assigned', {
    reviewers: tasks.map((task) => ({ login: task.reviewer, grantCount: task.grantCount })),
    identities: tasks.map((task) => ({ login: task.reviewer, slackUserId: task.slackUserId })),
    assignmentDigest: assignmentDigestOf(size),
    dueAt: AT,
  });
  for (const task of tasks) {
    yield next('review_requested', {
      reviewer: task.reviewer,
      slackUserId: task.slackUserId,
      grantCount: task.grantCount,
      dueAt: task.dueAt,
      requestedAt: task.requestedAt,
    });
  }
  for (const i of positions(size, decided)) {
    const d = decisionAt(i, size);
    yield next('decision_recorded', {
      grantId: d.grantId,
      decision: d.decision,
      reviewer: d.reviewer,
      decidedBySlackUserId: d.decidedBySlackUserId,
      justification: d.justification ?? null,
    });
  }
  const decidedBy = new Map<string, number>();
  for (const i of positions(size, decided)) {
    const reviewer = `reviewer${i % reviewersFor(size)}`;
    decidedBy.set(reviewer, (decidedBy.get(reviewer) ?? 0) + 1);
  }
  for (const task of tasks) {
    yield next('review_completed', {
      reviewer: task.reviewer,
      decided: decidedBy.get(task.reviewer) ?? 0,
      completedAt: task.completedAt,
    });
  }
  for (const i of positions(size, revoked)) {
    const r = revocationAt(i, size);
    yield next('revocation_applied', {
      grantId: r.grantId,
      status: r.status,
      action: r.action,
      remediation: null,
      error: null,
      at: r.at,
      interrupted: false,
    });
  }
  for (const i of positions(size, revoked)) {
    yield next('revocation_verified', { grantId: grantIdAt(i), status: 'absent', paths: [], checkedAt: AT });
  }
  yield next('campaign_completed', { counts: {} });
}

function snapshotDigestOf(size: number): string {
  const digest = createHash('sha256');
  for (let i = 0; i < size; i++) {
    digest.update(`${grantIdAt(i)}:${grantContentHash(grantAt(i, size), GRANT_HASH_VERSION)}\n`);
  }
  return digest.digest('hex');
}

function campaignOf(size: number): Campaign {
  return {
    campaignId: CAMPAIGN_ID,
    organization: 'acme',
    status: 'completed',
    trigger: 'bench',
    requestedBy: 'bench',
    executionName: CAMPAIGN_ID,
    startedAt: AT,
    completedAt: AT,
    counts: { grants: size },
  };
}

/** SHA-256 over `<grant_id>:<reviewer>:<routing_reason>\n` in grant-id order (ids ascend with i). */
function assignmentDigestOf(size: number): string {
  const digest = createHash('sha256');
  for (let i = 0; i < size; i++) {
    const grant = grantAt(i, size);
    digest.update(assignmentLine(grant.grantId, grant.reviewer, grant.routingReason));
  }
  return digest.digest('hex');
}

/** Grants routed to each reviewer, as grants.csv will show them. */
function assignedCounts(size: number): number[] {
  const counts = new Array<number>(reviewersFor(size)).fill(0);
  for (let i = 0; i < size; i++)
    if (routed(i)) counts[i % counts.length] = (counts[i % counts.length] ?? 0) + 1;
  return counts;
}

function tasksOf(size: number): TaskLine[] {
  const counts = assignedCounts(size);
  return Array.from({ length: reviewersFor(size) }, (_, index) => ({
    reviewer: `reviewer${index}`,
    slackUserId: `UREVIEWER${index}`,
    grantCount: counts[index] ?? 0,
    status: 'completed',
    requestedAt: AT,
    completedAt: AT,
    dueAt: AT,
  }));
}

/** The campaign as pages made on demand: what the table would answer, without the table. */
export function generatedSource(size: number): EvidenceSource {
  const digest = snapshotDigestOf(size);
  const async = <T>(pages: Iterable<T[]>): AsyncIterable<T[]> =>
    (async function* () {
      yield* pages;
    })();
  return {
    campaignId: CAMPAIGN_ID,
    campaign: async () => campaignOf(size),
    guardSummary: async () => undefined,
    approval: async () => undefined,
    firstEvent: async (type) => {
      for (const event of eventsOf(size, digest)) if (event.type === type) return event;
      return undefined;
    },
    grants: () =>
      async(
        pagesOf(
          (function* () {
            for (let i = 0; i < size; i++) yield grantAt(i, size);
          })(),
        ),
      ),
    decisions: () =>
      async(
        pagesOf(
          (function* () {
            for (const i of positions(size, decided)) yield decisionAt(i, size);
          })(),
        ),
      ),
    revocations: () =>
      async(
        pagesOf(
          (function* () {
            for (const i of positions(size, revoked)) yield revocationAt(i, size);
          })(),
        ),
      ),
    verifications: () =>
      async(
        pagesOf(
          (function* () {
            for (const i of positions(size, revoked)) yield verificationAt(i, size);
          })(),
        ),
      ),
    guardItems: () => async([]),
    tasks: () => async([tasksOf(size)]),
    events: () => async(pagesOf(eventsOf(size, digest))),
    signatures: () => signedHead(size, digest),
  };
}

/** The workflow signs its chain head as it goes; the bench signs the last one, with a key of its own. */
const BENCH_KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

function signedHead(size: number, digest: string): SignatureSource {
  const publicKeyPem = spkiPem(BENCH_KEY.publicKey);
  const keySha256 = keyFingerprint(BENCH_KEY.publicKey);
  return {
    async *signatures() {
      let last: CampaignEvent | undefined;
      for (const event of eventsOf(size, digest)) last = event;
      if (!last) return;
      const statement = chainHeadStatement(CAMPAIGN_ID, last.seq, last.hash);
      yield [
        {
          campaignId: CAMPAIGN_ID,
          seq: last.seq,
          hash: last.hash,
          keyId: `local:${keySha256}`,
          keySha256,
          algorithm: CHAIN_SIGNING_ALGORITHM,
          signature: sign('sha256', statement, { key: BENCH_KEY.privateKey, dsaEncoding: 'der' }).toString(
            'base64',
          ),
          signedAt: AT,
        },
      ];
    },
    publicKey: async (keyId) => ({
      keyId,
      keySha256,
      publicKeyPem,
      algorithm: CHAIN_SIGNING_ALGORITHM,
      storedAt: AT,
    }),
  };
}

const LOCAL_CLIENT = { region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };

/** Writes the generated campaign to the table, in the layout the repositories write. */
export async function fillTableForTest(table: TableRef, size: number): Promise<number> {
  return fillTable(table, size);
}

async function fillTable(table: TableRef, size: number): Promise<number> {
  const store = createStore(table);
  const source = generatedSource(size);
  await store.campaigns.create(campaignOf(size));
  for (const task of tasksOf(size)) {
    await store.tasks.create({ campaignId: CAMPAIGN_ID, ...task } as Parameters<
      typeof store.tasks.create
    >[0]);
  }
  let items = 0;
  const put = async (records: Array<Record<string, unknown>>) => {
    for (let start = 0; start < records.length; start += 25) {
      let requests = records.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const result = await table.client.send(
          new BatchWriteCommand({ RequestItems: { [table.tableName]: requests } }),
        );
        requests = (result.UnprocessedItems?.[table.tableName] ?? []) as typeof requests;
      }
    }
    items += records.length;
  };
  const pk = keys.campaign(CAMPAIGN_ID);
  for await (const page of source.grants()) {
    await put(page.map((grant) => ({ pk, sk: keys.grant(grant.grantId), kind: 'grant', ...grant })));
  }
  for await (const page of source.decisions()) {
    await put(page.map((d) => ({ pk, sk: keys.decision(d.grantId), kind: 'decision', ...d })));
  }
  for await (const page of source.revocations()) {
    await put(page.map((r) => ({ pk, sk: keys.revocation(r.grantId), kind: 'revocation', ...r })));
  }
  for await (const page of source.verifications()) {
    await put(page.map((v) => ({ pk, sk: keys.verification(v.grantId), kind: 'verification', ...v })));
  }
  for await (const page of source.events()) {
    await put(page.map((e) => ({ pk, sk: keys.event(e.seq), kind: 'event', ...e })));
  }
  return items;
}

/** Only the generated source is measured (`--table 0`). */
class SkipTable extends Error {}

interface ChildResult {
  ms: number;
  maxRssMb: number;
  ok?: boolean;
  findings?: number;
  bytes?: number;
}

/**
 * This process's peak RSS. Linux carries the parent's peak across fork and exec into
 * getrusage's maxRSS (so a child of a parent holding dynalite would report the parent's
 * memory); VmHWM in /proc/self/status is the peak of this process's own memory.
 */
function peakRssKb(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (match) return Number(match[1]);
  } catch {
    // Not Linux: getrusage's figure, with the caveat above.
  }
  return process.resourceUsage().maxRSS;
}

/** Run in the child: one export or one verify, then its time and peak RSS on stdout. */
async function child(args: string[]): Promise<void> {
  const [what, from, sizeText, dir, endpoint] = args;
  const size = Number(sizeText);
  let result: Omit<ChildResult, 'maxRssMb'>;
  if (what === 'idle') {
    result = { ms: 0 };
  } else if (what === 'export') {
    const source =
      from === 'dynalite'
        ? createStore(createTableRef('bench-evidence', { ...LOCAL_CLIENT, endpoint }))
        : generatedSource(size);
    const started = performance.now();
    const manifest = await exportEvidence(source, CAMPAIGN_ID, dir as string, new Date(AT));
    result = {
      ms: performance.now() - started,
      bytes: manifest.files.reduce((sum, file) => sum + file.bytes, 0),
    };
  } else {
    const started = performance.now();
    const check = await verifyEvidence(dir as string);
    result = { ms: performance.now() - started, ok: check.ok, findings: check.findings.length };
  }
  const maxRssMb = peakRssKb() / 1024;
  process.stdout.write(`${JSON.stringify({ ...result, maxRssMb })}\n`);
  process.exit(0);
}

function runChild(args: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), 'child', ...args],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    proc.stdout.on('data', (chunk) => {
      out += chunk;
    });
    proc.on('error', reject);
    proc.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{'))
        reject(new Error(`bench child ${args.join(' ')} exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as ChildResult);
    });
  });
}

export async function evidenceBenchmark(
  sizes = { table: 100_000, generated: [100_000, 1_000_000] },
): Promise<string> {
  const { startLocalDynamo } = await import('../lib/local/dynamo');
  const { synthesizeForLocalHost } = await import('../lib/local/synthesized-workflow');
  const { parseConfig } = await import('../functions/core/config');
  const work = await mkdtemp(join(tmpdir(), 'bench-evidence-'));
  const rows: Array<{ label: string; size: number; exported: ChildResult; verified: ChildResult }> = [];
  try {
    const idle = await runChild(['idle', 'none', '0', work]);
    const config = parseConfig({
      github: { organization: 'acme' },
      routing: { fallbackReviewers: ['alice'] },
      people: [{ github: 'alice', email: 'alice@acme.example' }],
    });
    const dynamo =
      sizes.table === 0
        ? undefined
        : await startLocalDynamo({
            tableName: 'bench-evidence',
            schema: synthesizeForLocalHost(config).table,
          });
    let filled = 0;
    let fillMs = 0;
    try {
      if (!dynamo) throw new SkipTable();
      const started = performance.now();
      filled = await fillTable(dynamo.table, sizes.table);
      fillMs = performance.now() - started;
      const out = join(work, 'table');
      const exported = await runChild(['export', 'dynalite', String(sizes.table), out, dynamo.endpoint]);
      const verified = await runChild(['verify', 'dynalite', String(sizes.table), out]);
      rows.push({ label: 'dynalite', size: sizes.table, exported, verified });
    } catch (error) {
      if (!(error instanceof SkipTable)) throw error;
    } finally {
      await dynamo?.close();
    }
    for (const size of sizes.generated) {
      const out = join(work, `generated-${size}`);
      const exported = await runChild(['export', 'generated', String(size), out]);
      const verified = await runChild(['verify', 'generated', String(size), out]);
      rows.push({ label: 'generated', size, exported, verified });
      await rm(out, { recursive: true, force: true });
    }
    const base = rows[0] as (typeof rows)[number];
    const ratio = (value: number, of: number) => `${(value / of).toFixed(2)}×`;
    const mb = (value: number) => `${Math.round(value)} MB`;
    const lines = [
      '### Evidence export and verify-evidence (streaming)',
      '',
      `Each figure from a child process of its own: time of the export or the verification, and the child's peak RSS (VmHWM of /proc/self/status; a child that only loads the same modules peaks at ${mb(idle.maxRssMb)}). Times are ratios against exporting the first row's ${base.size.toLocaleString('en-US')} grants from ${base.label} (${(base.exported.ms / 1000).toFixed(1)} s here).${
        filled > 0
          ? ` The ${sizes.table.toLocaleString('en-US')}-grant campaign was written to dynalite first (${filled.toLocaleString('en-US')} items in ${(fillMs / 1000).toFixed(0)} s, which is why 1M is generated: the same campaign shape from an EvidenceSource that makes the table's pages on demand).`
          : ''
      }`,
      '',
      '| source | grants | export time | export peak RSS | evidence size | verify time | verify peak RSS | verified |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...rows.map(
        (row) =>
          `| ${row.label} | ${row.size.toLocaleString('en-US')} | ${ratio(row.exported.ms, base.exported.ms)} | ${mb(row.exported.maxRssMb)} | ${mb((row.exported.bytes ?? 0) / 1024 / 1024)} | ${ratio(row.verified.ms, base.exported.ms)} | ${mb(row.verified.maxRssMb)} | ${row.verified.ok ? 'ok' : `${row.verified.findings} findings`} |`,
      ),
    ];
    return lines.join('\n');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'child') {
  await child(process.argv.slice(3));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // --table N (0: skip dynalite) --generated N,M: smaller or split runs.
  const option = (name: string) => {
    const index = process.argv.indexOf(`--${name}`);
    return index === -1 ? undefined : (process.argv[index + 1] as string);
  };
  const table = option('table');
  const generated = option('generated');
  console.log(
    await evidenceBenchmark({
      table: table === undefined ? 100_000 : Number(table),
      generated:
        generated === undefined ? [100_000, 1_000_000] : generated.split(',').filter(Boolean).map(Number),
    }),
  );
}
