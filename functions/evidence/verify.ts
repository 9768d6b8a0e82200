import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { PolicyChange } from '../connectors/connector';
import { canDowngrade } from '../core/downgrade';
import { AccessReviewError } from '../core/errors';
import { type Grant, viaFromLabel } from '../core/grant';
import { parseJsonRecord } from '../core/records';
import { type CampaignEvent, canonicalJson } from '../store/events';
import type { ChainSignature } from '../store/signatures';
import {
  bySeq,
  type ChainFacts,
  DECISION,
  DECISION_KIND,
  fingerprint,
  HANDOVER,
  LINE,
  readChain,
} from './chain-facts';
import { csvRows } from './csv-read';
import { guardReasonsLabel, policyChangesLabel, toHeldLabel } from './export';
import { EvidenceFileError, EvidenceFolder, linesOf } from './folder';
import {
  decisionsHeader,
  EVIDENCE_FILES,
  EVIDENCE_FORMAT,
  type EvidenceFileName,
  type EvidenceFormat,
  GRANTS_HEADER,
  isEvidenceFileName,
  MANIFEST_FILE,
  revocationsHeader,
} from './format';
import {
  assignmentLine,
  GRANT_HASH_VERSION,
  grantContentHash,
  hashVersionOf,
  snapshotDigest,
} from './grant-digest';
import { checkRebuilt } from './rebuild';
import { REPORT_FILE, renderReport } from './report/index';
import { checkChainAnchor, type PinnedKey } from './signing/check';
import {
  type PublishedKey,
  parsePublicKeys,
  parseSignatureLines,
  SIGNATURES_FILE,
  SIGNING_KEY_FILE,
  signedSeqs,
} from './signing/evidence';

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
  /** Only when there is something to say that is not a finding (what a failed campaign left, what an older campaign's chain does not anchor). */
  notes?: string[];
}

/** The manifest as far as it could be read: entries only for the format's own names. */
interface ManifestFacts {
  /** The format the folder says it is in: 1 when the manifest names none (written before formats). */
  format: EvidenceFormat;
  campaignId: string | undefined;
  chainHead: string | null | undefined;
  events: number | undefined;
  entries: Map<EvidenceFileName, { sha256: string; bytes: number }>;
}

const MANIFEST_LIMIT = 1024 * 1024;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Reads manifest.json and holds it to the format: exactly the format's files, each once, each a
 * bare name. A name that is a path, or not the format's, is reported and never opened.
 */
async function readManifest(folder: EvidenceFolder, findings: string[]): Promise<ManifestFacts> {
  const facts: ManifestFacts = {
    format: EVIDENCE_FORMAT,
    campaignId: undefined,
    chainHead: undefined,
    events: undefined,
    entries: new Map(),
  };
  let manifest: unknown;
  try {
    manifest = parseJsonRecord(await folder.text(MANIFEST_FILE, MANIFEST_LIMIT), MANIFEST_FILE);
  } catch (error) {
    findings.push(describeError(MANIFEST_FILE, error));
    return facts;
  }
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    findings.push(`${MANIFEST_FILE}: not a JSON object`);
    return facts;
  }
  const m = manifest as Record<string, unknown>;
  if (m.format === undefined) facts.format = 1;
  else if (m.format === 1 || m.format === 2) facts.format = m.format;
  else {
    findings.push(
      `${MANIFEST_FILE}: "format" is ${JSON.stringify(m.format)}, which this release cannot check (it writes and checks formats 1 and ${EVIDENCE_FORMAT}); checked as format ${EVIDENCE_FORMAT}`,
    );
  }
  if (typeof m.campaignId === 'string') facts.campaignId = m.campaignId;
  else findings.push(`${MANIFEST_FILE}: "campaignId" is not a string`);
  if (typeof m.chainHead === 'string' || m.chainHead === null) facts.chainHead = m.chainHead;
  else findings.push(`${MANIFEST_FILE}: "chainHead" is neither a hash nor null`);
  if (Number.isSafeInteger(m.events)) facts.events = m.events as number;
  else findings.push(`${MANIFEST_FILE}: "events" is not a count`);
  if (m.algorithm !== 'sha256') findings.push(`${MANIFEST_FILE}: "algorithm" is not "sha256"`);
  if (!Array.isArray(m.files)) {
    findings.push(`${MANIFEST_FILE}: "files" is not a list`);
  } else {
    for (const [index, file] of m.files.entries()) {
      const entry = (file ?? {}) as Record<string, unknown>;
      const name = entry.name;
      if (typeof name !== 'string') {
        findings.push(`${MANIFEST_FILE}: files[${index}] has no name`);
        continue;
      }
      if (/[/\\\0]/.test(name) || name === '.' || name === '..') {
        findings.push(
          `${MANIFEST_FILE}: files[${index}] is ${JSON.stringify(name)}, a path, not a file of the format; not read`,
        );
        continue;
      }
      if (!isEvidenceFileName(name)) {
        findings.push(
          `${MANIFEST_FILE}: files[${index}] is ${JSON.stringify(name)}, not a file of the format; not read`,
        );
        continue;
      }
      if (facts.entries.has(name)) {
        findings.push(`${MANIFEST_FILE}: ${name} is listed more than once`);
        continue;
      }
      if (
        typeof entry.sha256 !== 'string' ||
        !SHA256.test(entry.sha256) ||
        !Number.isSafeInteger(entry.bytes)
      ) {
        findings.push(`${MANIFEST_FILE}: the entry of ${name} has no SHA-256 or size`);
        continue;
      }
      facts.entries.set(name, { sha256: entry.sha256, bytes: entry.bytes as number });
    }
  }
  for (const name of EVIDENCE_FILES) {
    if (
      !facts.entries.has(name) &&
      !findings.some((f) => f.startsWith(`${MANIFEST_FILE}: the entry of ${name} `))
    ) {
      findings.push(`${MANIFEST_FILE}: does not list ${name}, which the format requires`);
    }
  }
  return facts;
}

/** Any error while checking a file, as a finding naming the file (and the line when known). */
function describeError(file: string, error: unknown): string {
  if (error instanceof EvidenceFileError) return error.message;
  if (error instanceof SyntaxError) return `${file}: not JSON (${error.message})`;
  if (error instanceof AccessReviewError) return `${file}: ${error.message}`;
  const named = error as { name?: string; message?: string };
  return `${file}: could not be checked (${named.name ?? 'Error'}: ${named.message ?? String(error)})`;
}

/**
 * Each file's bytes hashed as some check reads them, for the manifest comparison; a file whose
 * reading stopped part-way (a finding says why) is not compared.
 */
class FileHashes {
  private readonly hashes = new Map<EvidenceFileName, { hash: Hash; bytes: number }>();
  readonly stopped = new Set<string>();
  constructor(private readonly listed: ManifestFacts['entries']) {}

  /** A hash for the first full read of a listed file (later reads of it pass undefined). */
  for(name: EvidenceFileName): Hash | undefined {
    if (!this.listed.has(name) || this.hashes.has(name)) return undefined;
    const state = { hash: createHash('sha256'), bytes: 0 };
    this.hashes.set(name, state);
    const counting = {
      update: (chunk: Buffer) => {
        state.bytes += chunk.length;
        state.hash.update(chunk);
        return counting;
      },
    };
    return counting as unknown as Hash;
  }

  has(name: EvidenceFileName): boolean {
    return this.hashes.has(name);
  }

  result(name: EvidenceFileName): { sha256: string; bytes: number } | undefined {
    const state = this.hashes.get(name);
    return state ? { sha256: state.hash.digest('hex'), bytes: state.bytes } : undefined;
  }
}

/**
 * What an auditor can run without trusting us, or whoever can write the table: every file the
 * format requires is listed once and matches the manifest; the event chain recomputes to its head;
 * the chain is complete (its terminal event, one decision per grant by its reviewer while their
 * review was open, an outcome and a verification for every revocation); grants.csv hashes to the
 * snapshot digest and its assignments to the assignment digest; decisions.csv, revocations.csv and
 * policy-changes.jsonl say what the chain says; reviewers.csv and summary.json are what the export
 * writes from the chain. Every problem is a finding naming its file (and line); nothing throws.
 *
 * It streams: each file is hashed as it is read for its checks, events.jsonl once in order (the
 * chain recomputed event by event), the CSVs row by row. Per grant it keeps only index entries for
 * the chain's decisions and revocation outcomes (see GrantIndex), and reads an event again by its
 * position when a row needs more of it. It opens only the format's file names joined to the folder,
 * and only regular files.
 */
export interface VerifyOptions {
  /** The key the chain must be signed with (the auditor's copy of the KMS public key). */
  pin?: PinnedKey;
  /**
   * Accept a chain with no signature as a campaign from before signing (with a note). Off by
   * default: whoever can write the table could otherwise strip a new campaign's signatures and
   * assignment digest and pass it off as an old one.
   */
  allowUnsigned?: boolean;
}

export async function verifyEvidence(dir: string, options: VerifyOptions = {}): Promise<EvidenceCheck> {
  const folder = new EvidenceFolder(dir);
  const manifestFindings: string[] = [];
  const manifest = await readManifest(folder, manifestFindings);
  const hashes = new FileHashes(manifest.entries);
  const fileFindings: string[] = [];
  const present = new Set<EvidenceFileName>();
  for (const name of EVIDENCE_FILES) {
    const problem = await folder.problemWith(name);
    if (problem) fileFindings.push(`${name}: ${problem}`);
    else present.add(name);
  }
  const notes: string[] = [];
  const checkFindings: string[] = [];
  /** Runs one file's check; whatever it throws becomes a finding about that file. */
  const guarded = async <T>(name: EvidenceFileName, check: () => Promise<T>): Promise<T | undefined> => {
    if (!present.has(name)) return undefined;
    try {
      return await check();
    } catch (error) {
      checkFindings.push(describeError(name, error));
      hashes.stopped.add(name);
      return undefined;
    }
  };

  // The signatures first (a small file): the chain's hash is kept only at the seqs they name.
  const anchor = await readAnchorFiles(folder, hashes, present, checkFindings);
  const facts = await guarded('events.jsonl', () =>
    readChain(folder, hashes.for('events.jsonl'), manifest.campaignId, signedSeqs(anchor.signatures)),
  );
  const chainFindings: string[] = [];
  if (facts) {
    if (facts.chainFinding) chainFindings.push(facts.chainFinding);
    else if (manifest.chainHead !== undefined && facts.chainHead !== manifest.chainHead)
      chainFindings.push('events.jsonl: chain head differs from the manifest');
    if (manifest.events !== undefined && manifest.events !== facts.length) {
      chainFindings.push(`events.jsonl: ${facts.length} events, the manifest says ${manifest.events}`);
    }
    chainFindings.push(...facts.findings);
    await guarded('grants.csv', () => checkGrants(folder, hashes, facts, checkFindings, notes));
    const { format } = manifest;
    let events: EventFile | undefined;
    try {
      events = await EventFile.open(folder);
      const open = events;
      await guarded('decisions.csv', () => checkDecisions(folder, hashes, facts, format, checkFindings));
      await guarded('revocations.csv', () =>
        checkRevocations(folder, hashes, facts, open, format, checkFindings),
      );
      await guarded('policy-changes.jsonl', () =>
        checkPolicyChanges(folder, hashes, facts, open, checkFindings),
      );
    } catch (error) {
      checkFindings.push(describeError('events.jsonl', error));
    } finally {
      await events?.close();
    }
    await checkRebuilt(folder, hashes, facts, present, format, checkFindings, notes, guarded);
    checkAnchor(anchor, facts, manifest, options, checkFindings, notes);
  }
  await guarded('report.html', () => checkReport(folder, hashes, present, checkFindings));

  // Files no check read whole (a check stopped early, or had no chain to check against) are hashed on their own.
  const hashFindings: string[] = [];
  for (const [name, listed] of manifest.entries) {
    if (!present.has(name) || hashes.stopped.has(name)) continue;
    if (!hashes.has(name)) {
      const hash = hashes.for(name);
      try {
        for await (const _ of folder.chunks(name, hash));
      } catch (error) {
        hashFindings.push(describeError(name, error));
        continue;
      }
    }
    const actual = hashes.result(name);
    if (!actual) continue;
    // The size is the reader's convenience; the SHA-256 is what anchors the file.
    if (actual.sha256 !== listed.sha256)
      hashFindings.push(`${name}: SHA-256 ${actual.sha256} does not match the manifest`);
  }
  const findings = [
    ...manifestFindings,
    ...fileFindings,
    ...hashFindings,
    ...chainFindings,
    ...checkFindings,
  ];
  const failure = facts?.failure;
  return {
    ok: findings.length === 0,
    findings,
    ...(failure ? { failure: failureOf(failure) } : {}),
    ...(notes.length > 0 ? { notes } : {}),
  };
}

export type Guarded = <T>(name: EvidenceFileName, check: () => Promise<T>) => Promise<T | undefined>;
export type { FileHashes };

/** Events read back by position: the chain is never held, only where each needed event is. */
class EventFile {
  private constructor(private readonly handle: FileHandle) {}

  static async open(folder: EvidenceFolder): Promise<EventFile> {
    return new EventFile(await folder.open('events.jsonl'));
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

/** One finding per file for cells no export writes (a formula character where the rule puts a `'`). */
function cellReporter(name: string, findings: string[]): (line: number, column: string) => void {
  let count = 0;
  let at = -1;
  let first = '';
  return (line, column) => {
    count++;
    if (at === -1) {
      first = `${name} line ${line}, column ${column}: a cell that begins with a formula character is not neutralised`;
      at = findings.push(first) - 1;
    } else findings[at] = `${first} (${count} such cells in the file)`;
  };
}

/** A grants.csv row as the grant it describes (what content_sha256 is over). */
function grantOfRow(row: Record<string, string>): Grant {
  return {
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
  } as Grant;
}

/**
 * Each row must hash to its content_sha256, the rows to the snapshot event's digest, and their
 * reviewer and routing_reason columns to the reviewers_assigned event's digest. Each decision in
 * the chain must be by the reviewer grants.csv assigns the grant to. Rows come in grant-id order
 * from the export, so the digests are taken as they are read; a file in another order is read a
 * second time and sorted, as the digests' definitions ask.
 */
async function checkGrants(
  folder: EvidenceFolder,
  hashes: FileHashes,
  facts: ChainFacts,
  findings: string[],
  notes: string[],
): Promise<void> {
  const { snapshot, failure, assignment, decisions, reviewerIds, handovers } = facts;
  // Grants are hashed the way the release that took the snapshot hashed them; a campaign that
  // failed before its snapshot was recorded has them hashed as this release does (so does export).
  const known = !snapshot && failure ? GRANT_HASH_VERSION : hashVersionOf(snapshot?.data);
  if (known === undefined) {
    findings.push(
      `events.jsonl: the snapshot_taken event records grant hash version ${JSON.stringify(snapshot?.data.hashVersion)}, which this release cannot check`,
    );
  }
  const version = known ?? GRANT_HASH_VERSION;
  const assigned =
    typeof assignment?.data.assignmentDigest === 'string' ? assignment.data.assignmentDigest : undefined;
  const digest = createHash('sha256');
  const assignmentHash = createHash('sha256');
  let last: string | undefined;
  let inOrder = true;
  let rows = 0;
  const perReviewer = new Map<string, number>();
  const badCell = cellReporter('grants.csv', findings);
  for await (const { row, line } of csvRows(
    folder,
    'grants.csv',
    GRANTS_HEADER,
    hashes.for('grants.csv'),
    badCell,
  )) {
    rows++;
    const grant = grantOfRow(row);
    const grantHash = grantContentHash(grant, version);
    if (grantHash !== row.content_sha256)
      findings.push(`grants.csv: row ${row.grant_id} does not match its content hash`);
    const id = String(row.grant_id);
    if (last !== undefined && !(last < id)) inOrder = false;
    last = id;
    if (inOrder) {
      digest.update(`${id}:${grantHash}\n`);
      assignmentHash.update(assignmentLine(id, row.reviewer, row.routing_reason));
    }
    const reviewer = row.reviewer ?? '';
    facts.summary.addGrant({ ...grant, ...(reviewer ? { reviewer } : {}) } as Parameters<
      typeof facts.summary.addGrant
    >[0]);
    if (reviewer && grant.reviewable) perReviewer.set(reviewer, (perReviewer.get(reviewer) ?? 0) + 1);
    handoverFindings(facts, row, line, findings);
    const entry = decisions.find(id);
    if (entry === -1) continue;
    decisions.claim(entry, 2);
    const payload = decisions.payloadOf(entry);
    const target = reviewerIds.at(payload[DECISION.downgradeTo]);
    if (payload[DECISION.kind] === DECISION_KIND.downgrade && target !== '' && !canDowngrade(grant, target)) {
      findings.push(
        `grants.csv line ${line}: event ${payload[DECISION.seq]} downgrades grant ${id} (${grant.entitlement}) to ${target}, which is not a lower entitlement its source can set`,
      );
    }
    const decidedBy = reviewerIds.at(decisions.payloadOf(entry)[DECISION.reviewer]);
    if (!grant.reviewable || decidedBy !== reviewer) {
      findings.push(
        `grants.csv line ${line}: grant ${id} is ${grant.reviewable ? `assigned to ${reviewer || 'nobody'}` : 'not reviewable'}, but event ${decisions.payloadOf(entry)[DECISION.seq]} records a decision on it by ${decidedBy}`,
      );
    }
  }
  if (snapshot || assignment) {
    for (const { entry, grantId } of bySeq(
      decisions,
      [...decisions.latest()].filter(({ entry }) => !decisions.isClaimed(entry, 2)),
    )) {
      findings.push(
        `grants.csv: no row for grant ${grantId}, which event ${decisions.payloadOf(entry)[DECISION.seq]} records a decision on`,
      );
    }
  }
  // The reviews the chain assigned cover exactly the grants grants.csv assigns.
  for (const reviewer of facts.reviewers.values()) {
    if (!reviewer.assigned || reviewer.grantCount === undefined) continue;
    const count = perReviewer.get(reviewer.login) ?? 0;
    if (count !== reviewer.grantCount) {
      findings.push(
        `grants.csv: ${count} grants assigned to ${reviewer.login}, the reviewers_assigned event (event ${assignment?.seq}) says ${reviewer.grantCount}`,
      );
    }
  }
  if (assignment) {
    for (const login of perReviewer.keys()) {
      if (!facts.reviewers.get(login)?.assigned) {
        findings.push(
          `grants.csv: grants are assigned to ${login}, whom the reviewers_assigned event does not name`,
        );
      }
    }
  }
  let computed: { snapshot: string; assignment: string } | undefined;
  const digests = async () => {
    if (inOrder) return { snapshot: digest.digest('hex'), assignment: assignmentHash.digest('hex') };
    const byId = new Map<string, string>();
    const lines = new Map<string, string>();
    for await (const { row } of csvRows(folder, 'grants.csv', GRANTS_HEADER, undefined)) {
      byId.set(String(row.grant_id), grantContentHash(grantOfRow(row), version));
      lines.set(String(row.grant_id), assignmentLine(String(row.grant_id), row.reviewer, row.routing_reason));
    }
    const sorted = createHash('sha256');
    for (const id of [...lines.keys()].sort()) sorted.update(lines.get(id) as string);
    return { snapshot: snapshotDigest(byId), assignment: sorted.digest('hex') };
  };
  if (!snapshot) {
    if (failure) {
      notes.push(
        `the campaign failed before its snapshot was recorded: grants.csv holds the ${rows} grants the interrupted snapshot wrote, which the chain does not anchor`,
      );
    } else findings.push('events.jsonl: no snapshot_taken event');
  } else {
    computed = await digests();
    if (snapshot.data.digest !== computed.snapshot) {
      findings.push('grants.csv: the grants do not hash to the digest recorded by the snapshot_taken event');
    }
  }
  if (assigned !== undefined) {
    computed ??= await digests();
    if (assigned !== computed.assignment) {
      findings.push(
        `grants.csv: the reviewer and routing_reason columns do not hash to the assignment digest recorded by the reviewers_assigned event (event ${assignment?.seq})`,
      );
    }
  } else if (assignment) {
    notes.push(
      "grants.csv: the reviewer and routing_reason columns are not anchored in this campaign's chain (its reviewers_assigned event predates the assignment digest)",
    );
  } else if (
    snapshot &&
    rows > 0 &&
    (facts.completed || [...facts.reviewers.values()].some((r) => r.decisions > 0))
  ) {
    notes.push(
      "grants.csv: the reviewer and routing_reason columns are not anchored in this campaign's chain (it has no reviewers_assigned event)",
    );
  }
}

/**
 * A grant is handed over to someone other than whoever the access belongs to (the principal, or
 * the holder of a key or token), on the task grants.csv assigns it to.
 */
function handoverFindings(
  facts: ChainFacts,
  row: Record<string, string>,
  line: number,
  findings: string[],
): void {
  const { handovers, reviewerIds } = facts;
  if (handovers.size === 0) return;
  const id = String(row.grant_id);
  const own = [row.principal, row.holder].filter(Boolean).map((name) => String(name).toLowerCase());
  for (const entry of handovers.entriesOf(id)) {
    const payload = handovers.payloadOf(entry);
    const to = reviewerIds.at(payload[HANDOVER.to]);
    const taskReviewer = reviewerIds.at(payload[HANDOVER.taskReviewer]);
    if (own.includes(to.toLowerCase())) {
      findings.push(
        `grants.csv line ${line}: event ${payload[HANDOVER.seq]} hands grant ${id} to ${to}, whose own access it is (${row.principal === to ? 'principal' : 'holder'}): nobody reviews their own access`,
      );
    }
    if (taskReviewer !== (row.reviewer ?? '')) {
      findings.push(
        `grants.csv line ${line}: event ${payload[HANDOVER.seq]} hands grant ${id} over on ${taskReviewer || 'nobody'}'s task, but grants.csv assigns it to ${row.reviewer || 'nobody'}`,
      );
    }
  }
}

/**
 * decisions.csv and revocations.csv are conveniences derived from the table; the chain is what
 * is hashed. Every row must say what its event says, and every event must have its row.
 */
async function checkDecisions(
  folder: EvidenceFolder,
  hashes: FileHashes,
  facts: ChainFacts,
  format: EvidenceFormat,
  findings: string[],
): Promise<void> {
  const { decisions } = facts;
  const badCell = cellReporter('decisions.csv', findings);
  for await (const { row } of csvRows(
    folder,
    'decisions.csv',
    decisionsHeader(format),
    hashes.for('decisions.csv'),
    badCell,
  )) {
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
    // Format 1 has no columns for who decided besides the reviewer, a downgrade, bulk or the policy.
    const expected = fingerprint(
      format === 1
        ? [row.decision, row.reviewer, row.decided_by_slack_user, row.justification, row.reviewer, '', '', '']
        : [
            row.decision,
            row.reviewer,
            row.decided_by_slack_user,
            row.justification,
            row.decided_by,
            row.downgrade_to,
            row.bulk,
            row.exception,
          ],
    );
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
}

async function checkRevocations(
  folder: EvidenceFolder,
  hashes: FileHashes,
  facts: ChainFacts,
  events: EventFile,
  format: EvidenceFormat,
  findings: string[],
): Promise<void> {
  const { outcomes, verified, guardEvent, decisions, reviewerIds } = facts;
  const guarded = new Map(
    (
      (guardEvent?.data.held as
        | Array<{ grantId: string; outcome: string; reasons: Array<{ code: string; detail: string }> }>
        | undefined) ?? []
    ).map((item) => [item.grantId, item]),
  );
  const badCell = cellReporter('revocations.csv', findings);
  for await (const { row } of csvRows(
    folder,
    'revocations.csv',
    revocationsHeader(format),
    hashes.for('revocations.csv'),
    badCell,
  )) {
    const grantId = row.grant_id ?? '';
    const outcomeEntry = outcomes.find(grantId);
    const verifiedEntry = verified.find(grantId);
    const event = outcomeEntry === -1 ? undefined : await events.read(outcomes.payloadOf(outcomeEntry));
    const verification =
      verifiedEntry === -1 ? undefined : await events.read(verified.payloadOf(verifiedEntry));
    if (outcomeEntry !== -1) outcomes.claim(outcomeEntry);
    if (verifiedEntry !== -1) verified.claim(verifiedEntry);
    const decisionEntry = decisions.find(grantId);
    const decided = decisionEntry === -1 ? undefined : decisions.payloadOf(decisionEntry);
    const downgrade = decided?.[DECISION.kind] === DECISION_KIND.downgrade;
    const target = downgrade ? reviewerIds.at(decided?.[DECISION.downgradeTo]) : '';
    // What was carried out is what was decided: a downgrade to its target, a revocation as one.
    for (const [what, recorded] of [
      ['revocation outcome', event],
      ['verification', verification],
    ] as const) {
      if (!recorded) continue;
      const operation = recorded.data.operation === 'downgrade' ? 'downgrade' : 'revoke';
      if (downgrade !== (operation === 'downgrade') || (downgrade && recorded.data.to !== target)) {
        findings.push(
          `events.jsonl: event ${recorded.seq} records the ${what} of grant ${grantId} as ${operation === 'downgrade' ? `a downgrade to ${String(recorded.data.to)}` : 'a revocation'}, but the grant was decided ${downgrade ? `downgrade to ${target}` : 'revoke'}`,
        );
      }
    }
    if (format !== 1) {
      const decision = downgrade ? 'downgrade' : 'revoke';
      if (row.decision !== decision || (row.downgrade_to ?? '') !== target) {
        findings.push(
          `revocations.csv: ${grantId} shows ${row.decision}${row.downgrade_to ? ` to ${row.downgrade_to}` : ''}, the chain says ${decision}${target ? ` to ${target}` : ''}`,
        );
      }
      if ((row.to_held ?? '') !== toHeldLabel(verification?.data)) {
        findings.push(
          `revocations.csv: ${grantId} shows to_held ${JSON.stringify(row.to_held)}, the chain says ${JSON.stringify(toHeldLabel(verification?.data))}`,
        );
      }
    }
    const status = event?.data.status ?? 'not_applied';
    // An attempt that started and never finished (the campaign failed, or was cut off) has no
    // outcome in the chain: its row may say pending, which claims nothing the chain does not.
    const pendingWithoutOutcome = !event && row.revocation_status === 'pending';
    if (pendingWithoutOutcome) facts.summary.addRevocation({ status: 'pending' }, undefined);
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
}

/**
 * What the chain must say about revocations the guard decided: nothing it forbade was applied;
 * nothing it held was applied without the security team's approval; a rejection is only of
 * something held, a refusal only of something forbidden.
 */
async function guardFindings(
  facts: ChainFacts,
  guarded: Map<string, { outcome: string }>,
  events: EventFile,
): Promise<string[]> {
  const findings: string[] = [];
  const { outcomes, approved, guardEvent } = facts;
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
  folder: EvidenceFolder,
  hashes: FileHashes,
  facts: ChainFacts,
  events: EventFile,
  findings: string[],
): Promise<void> {
  const { outcomes } = facts;
  const withChanges = [...outcomes.latest()].filter(
    ({ entry }) => (outcomes.payloadOf(entry)[LINE.changes] as number) > 0,
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
  for await (const line of linesOf(
    'policy-changes.jsonl',
    folder.chunks('policy-changes.jsonl', hashes.for('policy-changes.jsonl')),
  )) {
    if (line.text.trim() === '') continue;
    index++;
    let change: PolicyChange & { grantId?: unknown; eventSeq?: unknown };
    try {
      change = parseJsonRecord(line.text, `policy-changes.jsonl line ${index}`) as typeof change;
      if (change === null || typeof change !== 'object' || Array.isArray(change))
        throw new SyntaxError('not an object');
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
  for (const { entry, grantId } of bySeq(outcomes, withChanges)) {
    const count = outcomes.payloadOf(entry)[LINE.changes] as number;
    for (let i = 0; i < count; i++) {
      if (!matched.has(`${entry}:${i}`)) {
        findings.push(
          `policy-changes.jsonl: a policy change the chain records for grant ${grantId} has no line`,
        );
      }
    }
  }
}

/** signatures.jsonl and signing-key.pem, read whole (a line per signed head, a PEM block per key). */
async function readAnchorFiles(
  folder: EvidenceFolder,
  hashes: FileHashes,
  present: ReadonlySet<EvidenceFileName>,
  findings: string[],
): Promise<{ signatures: ChainSignature[]; keys: PublishedKey[] }> {
  const anchor: { signatures: ChainSignature[]; keys: PublishedKey[] } = { signatures: [], keys: [] };
  const read = async (name: typeof SIGNATURES_FILE | typeof SIGNING_KEY_FILE, limit: number) => {
    if (!present.has(name)) return undefined;
    try {
      const text = await folder.text(name, limit);
      hashes.for(name)?.update(Buffer.from(text, 'utf8'));
      return text;
    } catch (error) {
      findings.push(describeError(name, error));
      hashes.stopped.add(name);
      return undefined;
    }
  };
  const lines = await read(SIGNATURES_FILE, 256 * 1024 * 1024);
  if (lines !== undefined) {
    const parsed = parseSignatureLines(lines);
    anchor.signatures = parsed.signatures;
    findings.push(...parsed.findings);
  }
  const pem = await read(SIGNING_KEY_FILE, 1024 * 1024);
  if (pem !== undefined) {
    const parsed = parsePublicKeys(pem);
    anchor.keys = parsed.keys;
    findings.push(...parsed.findings);
  }
  return anchor;
}

/**
 * The chain against its signatures. A chain with no signature at all is a finding. Only when the
 * auditor says the campaign is from before signing (`allowUnsigned`) and the chain looks it (no
 * assignment digest, written by the same release that signs) is it a note instead: the chain alone
 * cannot prove its age, since whoever rewrites it can drop the digest too.
 */
function checkAnchor(
  anchor: { signatures: ChainSignature[]; keys: PublishedKey[] },
  facts: ChainFacts,
  manifest: ManifestFacts,
  options: VerifyOptions,
  findings: string[],
  notes: string[],
): void {
  const { pin } = options;
  const predatesSigning =
    anchor.signatures.length === 0 && typeof facts.assignment?.data.assignmentDigest !== 'string';
  if (predatesSigning) {
    if (options.allowUnsigned) {
      notes.push(
        `${SIGNATURES_FILE}: no signature, and the chain predates signing (no assignment digest): nothing outside the table anchors this campaign's chain (accepted: --allow-unsigned)`,
      );
    } else {
      findings.push(
        `${SIGNATURES_FILE}: no signature: nothing outside the table anchors this campaign's chain (for a campaign from before signing, verify with --allow-unsigned)`,
      );
    }
    return;
  }
  const check = checkChainAnchor({
    campaignId: manifest.campaignId ?? facts.campaignId ?? '',
    signatures: anchor.signatures,
    keys: anchor.keys,
    chainHashes: facts.signedHashes,
    chainEnd: facts.end,
    ...(pin ? { pin } : {}),
  });
  findings.push(...check.findings);
  notes.push(...check.notes);
}

/** report.html must be what the folder's files render (the renderer is deterministic). */
async function checkReport(
  folder: EvidenceFolder,
  hashes: FileHashes,
  present: ReadonlySet<EvidenceFileName>,
  findings: string[],
): Promise<void> {
  const inputs = [
    'summary.json',
    'reviewers.csv',
    'decisions.csv',
    'revocations.csv',
    'events.jsonl',
  ] as const;
  const hash = hashes.for('report.html');
  const chunks: Buffer[] = [];
  for await (const chunk of folder.chunks('report.html', hash)) chunks.push(chunk);
  // Rendered only from files that are there and regular (it reads them by their names).
  if (inputs.some((name) => !present.has(name))) return;
  let again: string;
  try {
    again = await renderReport(folder.dir);
  } catch (error) {
    findings.push(
      `${REPORT_FILE}: cannot be rendered again from the folder's files (${describeError(REPORT_FILE, error)})`,
    );
    return;
  }
  if (!Buffer.from(again, 'utf8').equals(Buffer.concat(chunks))) {
    findings.push(`${REPORT_FILE}: not what the folder's files render`);
  }
}
