import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import type { PolicyChange } from '../connectors/connector';
import { type Grant, viaFromLabel } from '../core/grant';
import { parseJsonRecord } from '../core/records';
import { type CampaignEvent, ChainVerifier, canonicalJson } from '../store/events';
import { guardReasonsLabel, type Manifest, policyChangesLabel } from './export';
import { GRANT_HASH_VERSION, grantContentHash, hashVersionOf, snapshotDigest } from './grant-digest';
import { GrantIndex } from './grant-index';

/** What the chain says about a campaign that failed (and was not resumed afterwards). */
export interface EvidenceFailure {
  state: string;
  reviewer: string | null;
  error: string;
  cause: string;
  classification: string;
  at: string;
  seq: number;
}

export interface EvidenceCheck {
  ok: boolean;
  findings: string[];
  /** Only when the chain records that the campaign failed: where and why. */
  failure?: EvidenceFailure;
  /** Only when there is something to say that is not a finding (what a failed campaign left). */
  notes?: string[];
}

const OUTCOME_TYPES = new Set([
  'revocation_applied',
  'revocation_failed',
  'revocation_rejected',
  'revocation_refused',
]);

/** Decision payload: [seq, fingerprint×4, revoke]. Outcome / verification payload: [seq, offset lo, offset hi, length, policy changes]. */
const DECISION_WIDTH = 6;
const LINE_WIDTH = 5;

/** 128 bits of SHA-256 over what a decisions.csv row and its event must agree on. */
function fingerprint(values: readonly unknown[]): number[] {
  const digest = createHash('sha256').update(canonicalJson(values)).digest();
  return [0, 1, 2, 3].map((word) => digest.readUInt32BE(word * 4));
}

/** A file's bytes as they are read, into `hash` when the manifest lists it. */
async function* chunksOf(path: string, hash: Hash | undefined): AsyncGenerator<Buffer> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash?.update(chunk as Buffer);
    yield chunk as Buffer;
  }
}

/** Lines with their byte offset, so an event can be read again later without keeping it. */
async function* linesOf(
  path: string,
  hash: Hash | undefined,
): AsyncGenerator<{ text: string; offset: number; length: number }> {
  let rest: Buffer = Buffer.alloc(0);
  let offset = 0;
  for await (const chunk of chunksOf(path, hash)) {
    const buffer = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let end = buffer.indexOf(10, start); end !== -1; end = buffer.indexOf(10, start)) {
      yield { text: buffer.toString('utf8', start, end), offset: offset + start, length: end - start };
      start = end + 1;
    }
    rest = buffer.subarray(start);
    offset += start;
  }
  if (rest.length > 0) yield { text: rest.toString('utf8'), offset, length: rest.length };
}

function csvRows(path: string, hash: Hash | undefined): AsyncIterable<Record<string, string>> {
  const parser = parse({ columns: true });
  // A read error destroys the parser, so the loop reading its rows throws it.
  pipeline(Readable.from(chunksOf(path, hash)), parser).catch(() => undefined);
  return parser;
}

/** Events read back by position: the chain is never held, only where each needed event is. */
class EventFile {
  private constructor(private readonly handle: FileHandle) {}

  static async open(path: string): Promise<EventFile> {
    return new EventFile(await open(path, 'r'));
  }

  async read(payload: Uint32Array): Promise<CampaignEvent> {
    const offset = (payload[1] as number) + (payload[2] as number) * 2 ** 32;
    const buffer = Buffer.alloc(payload[3] as number);
    await this.handle.read(buffer, 0, buffer.length, offset);
    return parseJsonRecord(buffer.toString('utf8'), `events.jsonl event ${payload[0]}`) as CampaignEvent;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** What one pass over events.jsonl keeps: a few events whole, and per grant only index entries. */
interface ChainFacts {
  chainHead: string | null;
  chainFinding: string | undefined;
  snapshot: CampaignEvent | undefined;
  guardEvent: CampaignEvent | undefined;
  approved: boolean;
  completed: boolean;
  failure: CampaignEvent | undefined;
  decisions: GrantIndex;
  outcomes: GrantIndex;
  verified: GrantIndex;
}

async function readChain(path: string, hash: Hash | undefined): Promise<ChainFacts> {
  const chain = new ChainVerifier();
  const facts: ChainFacts = {
    chainHead: null,
    chainFinding: undefined,
    snapshot: undefined,
    guardEvent: undefined,
    approved: false,
    completed: false,
    failure: undefined,
    decisions: new GrantIndex(DECISION_WIDTH),
    outcomes: new GrantIndex(LINE_WIDTH),
    verified: new GrantIndex(LINE_WIDTH),
  };
  let index = 0;
  for await (const line of linesOf(path, hash)) {
    if (line.text.trim() === '') continue;
    index++;
    const event = parseJsonRecord(line.text, `events.jsonl line ${index}`) as CampaignEvent;
    chain.add(event);
    const where = [event.seq, line.offset % 2 ** 32, Math.floor(line.offset / 2 ** 32), line.length];
    const data = event.data ?? {};
    switch (event.type) {
      case 'snapshot_taken':
        facts.snapshot ??= event;
        break;
      case 'revocation_guard_evaluated':
        facts.guardEvent ??= event;
        break;
      case 'revocation_batch_approved':
        facts.approved = true;
        break;
      case 'campaign_completed':
        facts.completed = true;
        break;
      case 'campaign_failed':
        facts.failure = event;
        break;
      case 'campaign_resumed':
        facts.failure = undefined;
        break;
      case 'decision_recorded':
        facts.decisions.add(String(data.grantId), [
          event.seq,
          ...fingerprint([data.decision, data.reviewer, data.decidedBySlackUserId, data.justification ?? '']),
          data.decision === 'revoke' ? 1 : 0,
        ]);
        break;
      case 'revocation_verified':
        facts.verified.add(String(data.grantId), [...where, 0]);
        break;
      default:
        if (OUTCOME_TYPES.has(event.type)) {
          const changes = (data.policyChanges as unknown[] | undefined)?.length ?? 0;
          facts.outcomes.add(String(data.grantId), [...where, changes]);
        }
    }
  }
  const result = chain.result();
  if (result.ok) facts.chainHead = result.head;
  else facts.chainFinding = `events.jsonl: chain broken at seq ${result.seq}: ${result.reason}`;
  facts.decisions.seal();
  facts.outcomes.seal();
  facts.verified.seal();
  return facts;
}

/**
 * What an auditor can run without trusting us: every file matches the manifest, the event chain
 * recomputes to its head, and grants.csv hashes to the digest the snapshot event recorded.
 *
 * It streams: each file is hashed as it is read for its checks, events.jsonl once in order (the
 * chain recomputed event by event), the CSVs row by row. Per grant it keeps only index entries for
 * the chain's decisions and revocation outcomes (see GrantIndex), and reads an event again by its
 * position when a row needs more of it.
 */
export async function verifyEvidence(dir: string): Promise<EvidenceCheck> {
  const manifest = parseJsonRecord(
    await readFile(join(dir, 'manifest.json'), 'utf8'),
    'manifest.json',
  ) as Manifest;
  const listed = new Set(manifest.files.map((file) => file.name));
  const hashes = new Map<string, Hash>();
  const hashFor = (name: string) => {
    if (!listed.has(name)) return undefined;
    const hash = createHash('sha256');
    hashes.set(name, hash);
    return hash;
  };
  const path = (name: string) => join(dir, name);

  const facts = await readChain(path('events.jsonl'), hashFor('events.jsonl'));
  const chainFindings: string[] = [];
  if (facts.chainFinding) chainFindings.push(facts.chainFinding);
  else if (facts.chainHead !== manifest.chainHead)
    chainFindings.push('events.jsonl: chain head differs from the manifest');

  const failure = facts.failure;
  const notes: string[] = [];
  const grantFindings = await checkGrants(path('grants.csv'), hashFor('grants.csv'), facts, notes);
  const events = await EventFile.open(path('events.jsonl'));
  let crossFindings: string[];
  try {
    crossFindings = [
      ...(await checkDecisions(path('decisions.csv'), hashFor('decisions.csv'), facts)),
      ...(await checkRevocations(path('revocations.csv'), hashFor('revocations.csv'), facts, events)),
      ...(await checkPolicyChanges(
        path('policy-changes.jsonl'),
        hashFor('policy-changes.jsonl'),
        facts,
        events,
      )),
    ];
  } finally {
    await events.close();
  }

  const fileFindings: string[] = [];
  for (const file of manifest.files) {
    let hash = hashes.get(file.name);
    if (!hash) {
      // A file no check reads (reviewers.csv, summary.json) is hashed on its own.
      hash = createHash('sha256');
      try {
        for await (const _ of chunksOf(path(file.name), hash));
      } catch {
        fileFindings.push(`${file.name}: missing`);
        continue;
      }
    }
    const sha256 = hash.digest('hex');
    if (sha256 !== file.sha256)
      fileFindings.push(`${file.name}: SHA-256 ${sha256} does not match the manifest`);
  }
  const findings = [...fileFindings, ...chainFindings, ...grantFindings, ...crossFindings];
  return {
    ok: findings.length === 0,
    findings,
    ...(failure ? { failure: failureOf(failure) } : {}),
    ...(notes.length > 0 ? { notes } : {}),
  };
}

function failureOf(event: CampaignEvent): EvidenceFailure {
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  return {
    state: text(event.data.state),
    reviewer: typeof event.data.reviewer === 'string' ? event.data.reviewer : null,
    error: text(event.data.error),
    cause: text(event.data.cause),
    classification: text(event.data.classification),
    at: event.at,
    seq: event.seq,
  };
}

/**
 * Each row must hash to its content_sha256, and the rows to the snapshot event's digest. Rows come
 * in grant-id order from the export, so the digest is taken as they are read; a file in another
 * order is read a second time and sorted, as the digest's definition asks.
 */
async function checkGrants(
  path: string,
  hash: Hash | undefined,
  facts: ChainFacts,
  notes: string[],
): Promise<string[]> {
  const findings: string[] = [];
  const { snapshot, failure } = facts;
  // Grants are hashed the way the release that took the snapshot hashed them; a campaign that
  // failed before its snapshot was recorded has them hashed as this release does (so does export).
  const known = !snapshot && failure ? GRANT_HASH_VERSION : hashVersionOf(snapshot?.data);
  if (known === undefined) {
    findings.push(
      `events.jsonl: the snapshot_taken event records grant hash version ${JSON.stringify(snapshot?.data.hashVersion)}, which this release cannot check`,
    );
  }
  const version = known ?? GRANT_HASH_VERSION;
  const digest = createHash('sha256');
  let last: string | undefined;
  let inOrder = true;
  let rows = 0;
  const hashOf = (row: Record<string, string>) =>
    grantContentHash(
      {
        grantId: row.grant_id,
        connector: row.connector,
        grantKind: row.grant_kind,
        resourceType: row.resource_type,
        resource: row.resource,
        principalType: row.principal_type,
        principal: row.principal,
        entitlement: row.entitlement,
        via: viaFromLabel(row.via ?? ''),
        reviewable: row.reviewable === 'true',
        derivedFrom: row.derived_from ? (row.derived_from ?? '').split(' ') : [],
        flags: row.flags ? (row.flags ?? '').split(' ') : [],
        ...(row.holder ? { holder: row.holder } : {}),
        raw: {},
      } as Grant,
      version,
    );
  for await (const row of csvRows(path, hash)) {
    rows++;
    const grantHash = hashOf(row);
    if (grantHash !== row.content_sha256)
      findings.push(`grants.csv: row ${row.grant_id} does not match its content hash`);
    const id = String(row.grant_id);
    if (last !== undefined && !(last < id)) inOrder = false;
    last = id;
    if (inOrder) digest.update(`${id}:${grantHash}\n`);
  }
  if (!snapshot) {
    if (failure) {
      notes.push(
        `the campaign failed before its snapshot was recorded: grants.csv holds the ${rows} grants the interrupted snapshot wrote, which the chain does not anchor`,
      );
    } else findings.push('events.jsonl: no snapshot_taken event');
    return findings;
  }
  let computed: string;
  if (inOrder) computed = digest.digest('hex');
  else {
    const byId = new Map<string, string>();
    for await (const row of csvRows(path, undefined)) byId.set(String(row.grant_id), hashOf(row));
    computed = snapshotDigest(byId);
  }
  if (snapshot.data.digest !== computed) {
    findings.push('grants.csv: the grants do not hash to the digest recorded by the snapshot_taken event');
  }
  return findings;
}

/**
 * decisions.csv and revocations.csv are conveniences derived from the table; the chain is what
 * is hashed. Every row must say what its event says, and every event must have its row.
 */
async function checkDecisions(path: string, hash: Hash | undefined, facts: ChainFacts): Promise<string[]> {
  const findings: string[] = [];
  const { decisions } = facts;
  for await (const row of csvRows(path, hash)) {
    const grantId = row.grant_id ?? '';
    let entry = decisions.find(grantId);
    // A second row for a grant finds its event already taken by the first.
    if (entry !== -1 && decisions.isClaimed(entry)) entry = -1;
    const payload = entry === -1 ? undefined : decisions.payloadOf(entry);
    if (row.decision === 'none') {
      if (payload)
        findings.push(
          `decisions.csv: ${row.grant_id} shows no decision, but event ${payload[0]} records one`,
        );
      continue;
    }
    if (!payload) {
      findings.push(`decisions.csv: ${row.grant_id} shows ${row.decision} with no decision_recorded event`);
      continue;
    }
    const expected = fingerprint([row.decision, row.reviewer, row.decided_by_slack_user, row.justification]);
    if (expected.some((word, i) => payload[i + 1] !== word) || String(payload[0]) !== row.event_seq) {
      findings.push(`decisions.csv: ${row.grant_id} does not match event ${payload[0]}`);
    }
    decisions.claim(entry);
  }
  const missing = [...decisions.latest()].filter((entry) => !entry.claimed);
  for (const { entry, grantId } of bySeq(decisions, missing)) {
    findings.push(
      `decisions.csv: no row for grant ${grantId} decided in event ${decisions.payloadOf(entry)[0]}`,
    );
  }
  return findings;
}

/** Index entries in chain order (as the findings have always been listed). */
function bySeq<T extends { entry: number }>(index: GrantIndex, entries: T[]): T[] {
  return entries.sort(
    (a, b) => (index.payloadOf(a.entry)[0] as number) - (index.payloadOf(b.entry)[0] as number),
  );
}

async function checkRevocations(
  path: string,
  hash: Hash | undefined,
  facts: ChainFacts,
  events: EventFile,
): Promise<string[]> {
  const findings: string[] = [];
  const { outcomes, verified, guardEvent } = facts;
  const guarded = new Map(
    (
      (guardEvent?.data.held as
        | Array<{ grantId: string; outcome: string; reasons: Array<{ code: string; detail: string }> }>
        | undefined) ?? []
    ).map((item) => [item.grantId, item]),
  );
  for await (const row of csvRows(path, hash)) {
    const grantId = row.grant_id ?? '';
    const outcomeEntry = outcomes.find(grantId);
    const verifiedEntry = verified.find(grantId);
    const event = outcomeEntry === -1 ? undefined : await events.read(outcomes.payloadOf(outcomeEntry));
    const verification =
      verifiedEntry === -1 ? undefined : await events.read(verified.payloadOf(verifiedEntry));
    if (outcomeEntry !== -1) outcomes.claim(outcomeEntry);
    if (verifiedEntry !== -1) verified.claim(verifiedEntry);
    const status = event?.data.status ?? 'not_applied';
    // An attempt that started and never finished (the campaign failed, or was cut off) has no
    // outcome in the chain: its row may say pending, which claims nothing the chain does not.
    const pendingWithoutOutcome = !event && row.revocation_status === 'pending';
    if (row.revocation_status !== status && !pendingWithoutOutcome) {
      findings.push(
        `revocations.csv: ${grantId} shows ${row.revocation_status}, the chain says ${String(status)}`,
      );
    }
    if ((row.remediation ?? '') !== String(event?.data.remediation ?? '')) {
      findings.push(`revocations.csv: ${grantId} shows a remediation the chain does not record`);
    }
    // What was done, and when, as the chain recorded it.
    for (const [column, field] of [
      ['action', 'action'],
      ['error', 'error'],
      ['applied_at', 'at'],
    ] as const) {
      // A pending row's applied_at is when the attempt started, which no event records.
      if (pendingWithoutOutcome && column === 'applied_at') continue;
      if ((row[column] ?? '') !== String(event?.data[field] ?? '')) {
        findings.push(`revocations.csv: ${grantId} shows a ${column} the chain does not record`);
      }
    }
    const paths = (verification?.data.paths as Array<{ via: string; permission: string }> | undefined) ?? [];
    if (
      (row.still_present_via ?? '') !== paths.map((path) => `${path.via} (${path.permission})`).join('; ')
    ) {
      findings.push(
        `revocations.csv: ${grantId} shows paths that still give the access the chain does not record`,
      );
    }
    const changes = event?.data.policyChanges as PolicyChange[] | undefined;
    if ((row.policy_changes ?? '') !== policyChangesLabel(changes)) {
      findings.push(`revocations.csv: ${grantId} shows policy changes the chain does not record`);
    }
    if ((row.verified_at ?? '') !== String(verification?.data.checkedAt ?? '')) {
      findings.push(`revocations.csv: ${grantId} shows a verified_at the chain does not record`);
    }
    const expected =
      verification === undefined
        ? 'not_verified'
        : verification.data.status === 'absent'
          ? 'confirmed_absent'
          : 'still_present';
    if (row.verification !== expected) {
      findings.push(`revocations.csv: ${grantId} shows ${row.verification}, the chain says ${expected}`);
    }
    const verdict = guarded.get(grantId);
    const expectedGuard = guardEvent ? (verdict?.outcome ?? 'allowed') : '';
    if (
      (row.guard ?? '') !== expectedGuard ||
      (row.guard_reasons ?? '') !== guardReasonsLabel(verdict?.reasons)
    ) {
      findings.push(`revocations.csv: ${grantId} shows a revocation guard verdict the chain does not record`);
    }
  }
  findings.push(...(await guardFindings(facts, guarded, events)));
  const unlisted = new Set<string>();
  for (const index of [outcomes, verified]) {
    for (const { grantId } of bySeq(
      index,
      [...index.latest()].filter((entry) => !entry.claimed),
    )) {
      unlisted.add(grantId);
    }
  }
  for (const grantId of unlisted) {
    findings.push(`revocations.csv: no row for grant ${grantId}, which the chain revoked`);
  }
  return findings;
}

/**
 * What the chain must say about every revoke decision once the campaign is complete: it has an
 * outcome; nothing the guard forbade was applied; nothing it held was applied without the security
 * team's approval; a rejection is only of something held. A failed campaign is not complete: its
 * revoke decisions without an outcome are what it left undone, and the evidence shows them so.
 */
async function guardFindings(
  facts: ChainFacts,
  guarded: Map<string, { outcome: string }>,
  events: EventFile,
): Promise<string[]> {
  const findings: string[] = [];
  const { decisions, outcomes, completed, approved, guardEvent } = facts;
  if (completed) {
    const revoked = [...decisions.latest()].filter(({ entry }) => decisions.payloadOf(entry)[5] === 1);
    for (const { entry, grantId } of bySeq(decisions, revoked)) {
      if (outcomes.find(grantId) === -1) {
        findings.push(
          `events.jsonl: grant ${grantId} was decided revoke (event ${decisions.payloadOf(entry)[0]}) but the chain records no revocation outcome for it`,
        );
      }
    }
  }
  if (!guardEvent) return findings;
  for (const { entry, grantId } of bySeq(outcomes, [...outcomes.latest()])) {
    const event = await events.read(outcomes.payloadOf(entry));
    const verdict = guarded.get(grantId)?.outcome ?? 'allowed';
    const carriedOut = event.type === 'revocation_applied' || event.type === 'revocation_failed';
    if (carriedOut && verdict === 'forbidden') {
      findings.push(
        `events.jsonl: event ${event.seq} revokes grant ${grantId}, which the revocation guard forbade`,
      );
    } else if (carriedOut && verdict === 'held' && !approved) {
      findings.push(
        `events.jsonl: event ${event.seq} revokes grant ${grantId}, which the revocation guard held, with no approval in the chain`,
      );
    } else if (event.type === 'revocation_rejected' && verdict !== 'held') {
      findings.push(
        `events.jsonl: event ${event.seq} records grant ${grantId} as rejected, but the guard did not hold it`,
      );
    } else if (event.type === 'revocation_refused' && verdict !== 'forbidden') {
      findings.push(
        `events.jsonl: event ${event.seq} refuses grant ${grantId}, but the guard did not forbid it`,
      );
    }
  }
  return findings;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * policy-changes.jsonl holds the documents the chain names by hash: each line's documents must
 * hash to what it states, each line must be a change its grant's revocation event records, and
 * every change the chain records must have its line.
 */
async function checkPolicyChanges(
  path: string,
  hash: Hash | undefined,
  facts: ChainFacts,
  events: EventFile,
): Promise<string[]> {
  const findings: string[] = [];
  const { outcomes } = facts;
  const withChanges = [...outcomes.latest()].filter(
    ({ entry }) => (outcomes.payloadOf(entry)[4] as number) > 0,
  );
  /** `<entry>:<change index>` of each recorded change a line matched: one per line, not per grant. */
  const matched = new Set<string>();
  const recordedChanges = async (entry: number) => {
    const event = await events.read(outcomes.payloadOf(entry));
    return ((event.data.policyChanges as PolicyChange[] | undefined) ?? []).map((change) =>
      canonicalJson({ grantId: event.data.grantId, eventSeq: event.seq, ...change }),
    );
  };
  let index = 0;
  try {
    for await (const line of linesOf(path, hash)) {
      if (line.text.trim() === '') continue;
      index++;
      let change: PolicyChange & { grantId?: unknown; eventSeq?: unknown };
      try {
        change = parseJsonRecord(line.text, `policy-changes.jsonl line ${index}`) as typeof change;
      } catch {
        findings.push(`policy-changes.jsonl: line ${index} is not JSON`);
        continue;
      }
      for (const side of ['before', 'after'] as const) {
        const document = change[side];
        const stated = change[`${side}Sha256`];
        const actual = typeof document === 'string' ? sha256(document) : null;
        if (actual !== (stated ?? null)) {
          findings.push(
            `policy-changes.jsonl: line ${index} (${String(change.policy)}): the ${side} document does not hash to ${String(stated)}`,
          );
        }
      }
      const key = canonicalJson(change as unknown as Record<string, unknown>);
      const entry = outcomes.find(String(change.grantId));
      const position =
        entry === -1
          ? -1
          : (await recordedChanges(entry)).findIndex(
              (recorded, i) => recorded === key && !matched.has(`${entry}:${i}`),
            );
      if (position === -1) {
        findings.push(
          `policy-changes.jsonl: line ${index} (${String(change.policy)} of grant ${String(change.grantId)}) is not a change the chain records`,
        );
      } else matched.add(`${entry}:${position}`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (withChanges.length > 0)
      findings.push('policy-changes.jsonl: missing, but the chain records policy changes');
    return findings;
  }
  for (const { entry, grantId } of bySeq(outcomes, withChanges)) {
    const count = outcomes.payloadOf(entry)[4] as number;
    for (let i = 0; i < count; i++) {
      if (!matched.has(`${entry}:${i}`)) {
        findings.push(
          `policy-changes.jsonl: a policy change the chain records for grant ${grantId} has no line`,
        );
      }
    }
  }
  return findings;
}
