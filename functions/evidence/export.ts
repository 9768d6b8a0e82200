import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PolicyChange } from '../connectors/connector';
import { MalformedRequestError } from '../core/errors';
import { viaLabel } from '../core/grant';
import { describeAllows, describeDetails, describeKind } from '../core/grant-kinds';
import type { Decision } from '../store/decisions';
import { type CampaignEvent, canonicalJson } from '../store/events';
import type { StoredGrant } from '../store/grants';
import type { Store } from '../store/index';
import { EvidenceFileWriter, type WrittenFile } from './file-writer';
import {
  DECISIONS_HEADER,
  EVIDENCE_FILES,
  EVIDENCE_FORMAT,
  GRANTS_HEADER,
  POLICY_EXCEPTION,
  REVIEWERS_HEADER,
  REVOCATIONS_HEADER,
  reviewerRow,
  summaryText,
} from './format';
import { GRANT_HASH_VERSION, type GrantHashVersion, grantContentHash, hashVersionOf } from './grant-digest';
import { type GrantRecords, mergeByGrant } from './merge';
import { renderReport } from './report/index';
import { writeSignatureFiles } from './signing/evidence';
import { type EvidenceSource, storeEvidenceSource, type TaskLine } from './source';
import { type CampaignSummary, SummaryBuilder } from './summary';

export { EVIDENCE_FILES };

export interface Manifest {
  /** The evidence format (format.ts); absent in format 1. */
  format?: number;
  campaignId: string;
  generatedAt: string;
  algorithm: 'sha256';
  files: Array<{ name: string; sha256: string; bytes: number }>;
  chainHead: string | null;
  events: number;
}

/** `<policy> sha256:<before>→<after>` per changed document (`none` where there was none). */
export function policyChangesLabel(changes: readonly PolicyChange[] | undefined): string {
  return (changes ?? [])
    .map((c) => `${c.policy} sha256:${c.beforeSha256 ?? 'none'}→${c.afterSha256 ?? 'none'}`)
    .join('; ');
}

function grantRow(g: StoredGrant, hashVersion: GrantHashVersion): unknown[] {
  return [
    g.grantId,
    g.connector,
    g.grantKind,
    g.resourceType,
    g.resource,
    g.principalType,
    g.principal,
    g.entitlement,
    viaLabel(g.via),
    g.reviewable,
    g.derivedFrom.join(' '),
    (g.flags ?? []).join(' '),
    g.holder ?? '',
    `${describeKind(g)}: ${describeAllows(g)}`,
    describeDetails(g),
    g.reviewer ?? '',
    g.routingReason ?? '',
    g.snapshotAt,
    grantContentHash(g, hashVersion),
  ];
}

function decisionRow(g: StoredGrant, d: Decision | undefined, taskStatus: string | undefined): unknown[] {
  const note = d
    ? ''
    : !g.reviewer
      ? `no eligible reviewer: ${g.routingReason ?? ''}`
      : taskStatus === 'unresponsive'
        ? 'reviewer did not answer before the review window closed'
        : 'undecided';
  return [
    g.grantId,
    g.principal,
    g.resource,
    g.entitlement,
    viaLabel(g.via),
    g.reviewer ?? '',
    d?.decision ?? 'none',
    d?.decidedBySlackUserId ?? '',
    d?.decidedAt ?? '',
    d?.justification ?? '',
    d?.eventSeq ?? '',
    note,
    d ? decidedByOf(d) : '',
    d?.downgradeTo ?? '',
    d?.bulk === true ? 'true' : '',
    d?.channel === 'policy' ? POLICY_EXCEPTION : '',
  ];
}

/** Who decided: the task's reviewer or the person the grant was handed to; nobody for the policy. */
function decidedByOf(d: Decision): string {
  return d.channel === 'policy' ? '' : (d.decidedBy ?? d.reviewer);
}

function revocationRow(d: Decision, records: GrantRecords): unknown[] {
  const { grant: g, revocation: r, verification: v, guardItem } = records;
  return [
    d.grantId,
    g?.principal ?? '',
    g?.resource ?? '',
    g?.entitlement ?? '',
    g ? viaLabel(g.via) : '',
    decidedByOf(d),
    d.decidedAt,
    g?.grantKind ?? '',
    r?.status ?? 'not_applied',
    r?.at ?? '',
    r?.action ?? '',
    r?.remediation ?? '',
    r?.error ?? '',
    v ? (v.status === 'absent' ? 'confirmed_absent' : 'still_present') : 'not_verified',
    v?.checkedAt ?? '',
    v?.paths.map((p) => `${p.via} (${p.permission})`).join('; ') ?? '',
    policyChangesLabel(r?.policyChanges),
    // allowed / held / forbidden, and why; empty for a campaign from before the guard.
    guardItem?.outcome ?? '',
    guardReasonsLabel(guardItem?.reasons),
    d.decision,
    d.downgradeTo ?? '',
    toHeldLabel(v as { toHeld?: unknown } | undefined),
  ];
}

/** A downgrade's check of the lower entitlement: held directly now, or not; empty for a revocation. */
export function toHeldLabel(verification: { toHeld?: unknown } | undefined): string {
  return typeof verification?.toHeld === 'boolean' ? String(verification.toHeld) : '';
}

/** The files written from the per-grant pass (absent when only the summary is wanted). */
interface GrantFiles {
  grants: EvidenceFileWriter;
  decisions: EvidenceFileWriter;
  revocations: EvidenceFileWriter;
  policyChanges: EvidenceFileWriter;
}

/**
 * One pass over everything the table holds per grant, merged by grant id: each grant, decision,
 * revocation and verification is counted for the summary and, when files are given, written to
 * its rows, then dropped.
 */
async function grantPass(
  source: EvidenceSource,
  summary: SummaryBuilder,
  taskStatus: ReadonlyMap<string, string>,
  hashVersion: GrantHashVersion,
  files: GrantFiles | undefined,
): Promise<void> {
  const merged = mergeByGrant({
    grant: source.grants(),
    decision: source.decisions(),
    revocation: source.revocations(),
    verification: source.verifications(),
    guardItem: source.guardItems(),
  });
  for await (const records of merged) {
    const { grant, decision, revocation, verification } = records;
    if (grant) summary.addGrant(grant);
    if (decision) summary.addDecision(decision);
    if (revocation) summary.addRevocation(revocation, verification);
    if (verification) summary.addVerification(verification);
    if (!files) continue;
    if (grant) {
      await files.grants.write(grantRow(grant, hashVersion));
      if (grant.reviewable) {
        const status = grant.reviewer ? taskStatus.get(grant.reviewer) : undefined;
        await files.decisions.write(decisionRow(grant, decision, status));
      }
    }
    if (decision?.decision === 'revoke' || decision?.decision === 'downgrade') {
      await files.revocations.write(revocationRow(decision, records));
    }
    // The exact documents each revocation changed, one line per document, in grant order: the
    // revocations.csv column names them by hash, this file holds the bytes those hashes are of.
    for (const change of revocation?.policyChanges ?? []) {
      await files.policyChanges.write(
        `${canonicalJson({ grantId: revocation?.grantId, eventSeq: revocation?.eventSeq ?? null, ...change })}\n`,
      );
    }
  }
}

/** The reviewers' tasks: one small line per reviewer (never per grant), sorted as the file lists them. */
async function loadTasks(source: EvidenceSource, summary: SummaryBuilder): Promise<TaskLine[]> {
  const tasks: TaskLine[] = [];
  for await (const page of source.tasks()) {
    for (const task of page) {
      summary.addTask(task);
      tasks.push(task);
    }
  }
  return tasks.sort((a, b) => a.reviewer.localeCompare(b.reviewer));
}

/**
 * The grant hash version the snapshot used. A campaign that failed before its snapshot was
 * recorded has no snapshot event: its grants (what the interrupted snapshot wrote) are hashed as
 * this release hashes them, and verify-evidence does the same.
 */
function hashVersionFor(
  campaignId: string,
  snapshot: CampaignEvent | undefined,
  failed: boolean,
): GrantHashVersion {
  if (!snapshot && failed) return GRANT_HASH_VERSION;
  const version = hashVersionOf(snapshot?.data);
  if (version === undefined) {
    throw new MalformedRequestError(
      `campaign ${campaignId} was snapshotted with a grant hash version this release does not know; export it with the release that took it`,
    );
  }
  return version;
}

function isEvidenceSource(from: Store | EvidenceSource): from is EvidenceSource {
  return typeof (from as EvidenceSource).firstEvent === 'function';
}

/** The summary of a campaign, counted from the table a page at a time. */
export async function summarizeSource(source: EvidenceSource): Promise<CampaignSummary> {
  const [campaign, guard, approval, snapshot] = await Promise.all([
    source.campaign(),
    source.guardSummary(),
    source.approval(),
    source.firstEvent('snapshot_taken'),
  ]);
  const summary = new SummaryBuilder(campaign, guard, approval);
  await loadTasks(source, summary);
  for await (const page of source.events()) for (const event of page) summary.addEvent(event);
  const hashVersion = hashVersionFor(source.campaignId, snapshot, summary.failed);
  await grantPass(source, summary, new Map(), hashVersion, undefined);
  return summary.build();
}

/**
 * Builds the evidence folder from the table alone: what was in scope, who decided what and when,
 * what was removed, and whether reading the source again confirmed it. Rebuilding from the same
 * table gives the same bytes in every file but the manifest's generatedAt.
 *
 * Everything streams: each file is written (and hashed) as its rows are read from the table a page
 * at a time, and the summary is counted on the way. What stays in memory is one page per stream,
 * one line per reviewer, and counters; nothing per grant.
 */
export async function exportEvidence(
  from: Store | EvidenceSource,
  campaignId: string,
  outDir: string,
  now: Date = new Date(),
): Promise<Manifest> {
  const source = isEvidenceSource(from) ? from : storeEvidenceSource(from, campaignId);
  const [campaign, guard, approval, snapshot] = await Promise.all([
    source.campaign(),
    source.guardSummary(),
    source.approval(),
    source.firstEvent('snapshot_taken'),
  ]);
  // Re-exporting an older campaign hashes its grants as its snapshot did, so the digest still holds.
  if (snapshot && hashVersionOf(snapshot.data) === undefined) hashVersionFor(campaignId, snapshot, false);
  const summary = new SummaryBuilder(campaign, guard, approval);
  await mkdir(outDir, { recursive: true });
  const path = (name: (typeof EVIDENCE_FILES)[number]) => join(outDir, name);
  const written = new Map<string, WrittenFile>();

  const tasks = await loadTasks(source, summary);
  const reviewers = await EvidenceFileWriter.csv(path('reviewers.csv'), REVIEWERS_HEADER);
  for (const t of tasks) await reviewers.write(reviewerRow(t));
  written.set('reviewers.csv', await reviewers.close());

  const events = EvidenceFileWriter.text(path('events.jsonl'));
  for await (const page of source.events()) {
    for (const event of page) {
      summary.addEvent(event);
      await events.write(`${canonicalJson(event)}\n`);
    }
  }
  written.set('events.jsonl', await events.close());

  const hashVersion = hashVersionFor(campaignId, snapshot, summary.failed);
  const files: GrantFiles = {
    grants: await EvidenceFileWriter.csv(path('grants.csv'), GRANTS_HEADER),
    decisions: await EvidenceFileWriter.csv(path('decisions.csv'), DECISIONS_HEADER),
    revocations: await EvidenceFileWriter.csv(path('revocations.csv'), REVOCATIONS_HEADER),
    policyChanges: EvidenceFileWriter.text(path('policy-changes.jsonl')),
  };
  const taskStatus = new Map(tasks.map((t) => [t.reviewer, t.status]));
  await grantPass(source, summary, taskStatus, hashVersion, files);
  written.set('grants.csv', await files.grants.close());
  written.set('decisions.csv', await files.decisions.close());
  written.set('revocations.csv', await files.revocations.close());
  written.set('policy-changes.jsonl', await files.policyChanges.close());

  const built = summary.build();
  const summaryFile = EvidenceFileWriter.text(path('summary.json'));
  await summaryFile.write(summaryText(built));
  written.set('summary.json', await summaryFile.close());

  for (const file of await writeSignatureFiles(source.signatures(), campaignId, outDir)) {
    written.set(file.name, { sha256: file.sha256, bytes: file.bytes });
  }
  // From the files above as written (the report reads the folder, never the table), before the
  // manifest that lists it: verify-evidence renders it again from the same files and compares.
  const report = EvidenceFileWriter.text(path('report.html'));
  await report.write(await renderReport(outDir));
  written.set('report.html', await report.close());

  const manifest: Manifest = {
    format: EVIDENCE_FORMAT,
    campaignId,
    generatedAt: now.toISOString(),
    algorithm: 'sha256',
    files: EVIDENCE_FILES.map((name) => {
      const file = written.get(name) as WrittenFile;
      return { name, sha256: file.sha256, bytes: file.bytes };
    }),
    chainHead: built.chainHead,
    events: built.events,
  };
  await writeFile(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** `org_owner: alice is an owner…; last_owner: …` as revocations.csv shows a verdict's reasons. */
export function guardReasonsLabel(
  reasons: ReadonlyArray<{ code: string; detail: string }> | undefined,
): string {
  return (reasons ?? []).map((reason) => `${reason.code}: ${reason.detail}`).join('; ');
}
