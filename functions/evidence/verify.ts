import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { PolicyChange } from '../connectors/connector';
import { type Grant, viaFromLabel } from '../core/grant';
import { parseJsonRecord } from '../core/records';
import { type CampaignEvent, canonicalJson, verifyChain } from '../store/events';
import { guardReasonsLabel, type Manifest, policyChangesLabel } from './export';
import { GRANT_HASH_VERSION, grantContentHash, hashVersionOf, snapshotDigest } from './grant-digest';

export interface EvidenceCheck {
  ok: boolean;
  findings: string[];
}

/**
 * What an auditor can run without trusting us: every file matches the manifest, the event chain
 * recomputes to its head, and grants.csv hashes to the digest the snapshot event recorded.
 */
export async function verifyEvidence(dir: string): Promise<EvidenceCheck> {
  const findings: string[] = [];
  const manifest = parseJsonRecord(
    await readFile(join(dir, 'manifest.json'), 'utf8'),
    'manifest.json',
  ) as Manifest;
  for (const file of manifest.files) {
    let content: Buffer;
    try {
      content = await readFile(join(dir, file.name));
    } catch {
      findings.push(`${file.name}: missing`);
      continue;
    }
    const sha256 = createHash('sha256').update(content).digest('hex');
    if (sha256 !== file.sha256) findings.push(`${file.name}: SHA-256 ${sha256} does not match the manifest`);
  }
  const events = (await readFile(join(dir, 'events.jsonl'), 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => parseJsonRecord(line, `events.jsonl line ${index + 1}`) as CampaignEvent);
  const chain = verifyChain(events);
  if (!chain.ok) findings.push(`events.jsonl: chain broken at seq ${chain.seq}: ${chain.reason}`);
  else if (chain.head !== manifest.chainHead)
    findings.push('events.jsonl: chain head differs from the manifest');

  const rows = parse(await readFile(join(dir, 'grants.csv')), { columns: true }) as Record<string, string>[];
  const hashes = new Map<string, string>();
  const snapshot = events.find((e) => e.type === 'snapshot_taken');
  // Grants are hashed the way the release that took the snapshot hashed them.
  const known = hashVersionOf(snapshot?.data);
  if (known === undefined) {
    findings.push(
      `events.jsonl: the snapshot_taken event records grant hash version ${JSON.stringify(snapshot?.data.hashVersion)}, which this release cannot check`,
    );
  }
  const version = known ?? GRANT_HASH_VERSION;
  for (const row of rows) {
    const grant = {
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
    const hash = grantContentHash(grant, version);
    if (hash !== row.content_sha256)
      findings.push(`grants.csv: row ${row.grant_id} does not match its content hash`);
    hashes.set(grant.grantId, hash);
  }
  if (!snapshot) findings.push('events.jsonl: no snapshot_taken event');
  else if (snapshot.data.digest !== snapshotDigest(hashes)) {
    findings.push('grants.csv: the grants do not hash to the digest recorded by the snapshot_taken event');
  }
  findings.push(...(await crossCheckAgainstEvents(dir, events)));
  return { ok: findings.length === 0, findings };
}

/**
 * decisions.csv and revocations.csv are conveniences derived from the table; the chain is what
 * is hashed. Every row must say what its event says, and every event must have its row.
 */
async function crossCheckAgainstEvents(dir: string, events: CampaignEvent[]): Promise<string[]> {
  const findings: string[] = [];
  const latest = (type: string) => {
    const byGrant = new Map<string, CampaignEvent>();
    for (const event of events) if (event.type === type) byGrant.set(String(event.data.grantId), event);
    return byGrant;
  };
  const decided = latest('decision_recorded');
  const decisions = parse(await readFile(join(dir, 'decisions.csv')), { columns: true }) as Record<
    string,
    string
  >[];
  for (const row of decisions) {
    const event = decided.get(row.grant_id ?? '');
    if (row.decision === 'none') {
      if (event)
        findings.push(`decisions.csv: ${row.grant_id} shows no decision, but event ${event.seq} records one`);
      continue;
    }
    if (!event) {
      findings.push(`decisions.csv: ${row.grant_id} shows ${row.decision} with no decision_recorded event`);
    } else if (
      event.data.decision !== row.decision ||
      event.data.reviewer !== row.reviewer ||
      event.data.decidedBySlackUserId !== row.decided_by_slack_user ||
      (event.data.justification ?? '') !== row.justification ||
      String(event.seq) !== row.event_seq
    ) {
      findings.push(`decisions.csv: ${row.grant_id} does not match event ${event.seq}`);
    }
    decided.delete(row.grant_id ?? '');
  }
  for (const [grantId, event] of decided) {
    findings.push(`decisions.csv: no row for grant ${grantId} decided in event ${event.seq}`);
  }

  // Every outcome of a revoke decision: applied, failed, and those the revocation guard kept from
  // happening (rejected, refused_protected).
  const applied = new Map([
    ...latest('revocation_applied'),
    ...latest('revocation_failed'),
    ...latest('revocation_rejected'),
    ...latest('revocation_refused'),
  ]);
  const guardEvent = events.find((event) => event.type === 'revocation_guard_evaluated');
  const guarded = new Map(
    (
      (guardEvent?.data.held as
        | Array<{ grantId: string; outcome: string; reasons: Array<{ code: string; detail: string }> }>
        | undefined) ?? []
    ).map((item) => [item.grantId, item]),
  );
  const approved = events.some((event) => event.type === 'revocation_batch_approved');
  const verified = latest('revocation_verified');
  const revocations = parse(await readFile(join(dir, 'revocations.csv')), { columns: true }) as Record<
    string,
    string
  >[];
  const rows = new Set<string>();
  for (const row of revocations) {
    const grantId = row.grant_id ?? '';
    rows.add(grantId);
    const event = applied.get(grantId);
    const status = event?.data.status ?? 'not_applied';
    if (row.revocation_status !== status) {
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
      if ((row[column] ?? '') !== String(event?.data[field] ?? '')) {
        findings.push(`revocations.csv: ${grantId} shows a ${column} the chain does not record`);
      }
    }
    const verification = verified.get(grantId);
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
  findings.push(...guardFindings(events, applied, guarded, approved, guardEvent !== undefined));
  for (const grantId of new Set([...applied.keys(), ...verified.keys()])) {
    if (!rows.has(grantId))
      findings.push(`revocations.csv: no row for grant ${grantId}, which the chain revoked`);
  }
  findings.push(...(await checkPolicyChanges(dir, applied)));
  return findings;
}

/**
 * What the chain must say about every revoke decision once the campaign is complete: it has an
 * outcome; nothing the guard forbade was applied; nothing it held was applied without the security
 * team's approval; a rejection is only of something held.
 */
function guardFindings(
  events: CampaignEvent[],
  outcomes: Map<string, CampaignEvent>,
  guarded: Map<string, { outcome: string }>,
  approved: boolean,
  evaluated: boolean,
): string[] {
  const findings: string[] = [];
  const completed = events.some((event) => event.type === 'campaign_completed');
  const revokeDecisions = new Map<string, CampaignEvent>();
  for (const event of events) {
    if (event.type !== 'decision_recorded') continue;
    const grantId = String(event.data.grantId);
    if (event.data.decision === 'revoke') revokeDecisions.set(grantId, event);
    else revokeDecisions.delete(grantId);
  }
  if (completed) {
    for (const [grantId, decision] of revokeDecisions) {
      if (!outcomes.has(grantId)) {
        findings.push(
          `events.jsonl: grant ${grantId} was decided revoke (event ${decision.seq}) but the chain records no revocation outcome for it`,
        );
      }
    }
  }
  if (!evaluated) return findings;
  for (const [grantId, event] of outcomes) {
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
async function checkPolicyChanges(dir: string, applied: Map<string, CampaignEvent>): Promise<string[]> {
  const findings: string[] = [];
  const expected = new Map<string, string>();
  for (const [grantId, event] of applied) {
    for (const change of (event.data.policyChanges as PolicyChange[] | undefined) ?? []) {
      expected.set(canonicalJson({ grantId, eventSeq: event.seq, ...change }), grantId);
    }
  }
  let text = '';
  try {
    text = await readFile(join(dir, 'policy-changes.jsonl'), 'utf8');
  } catch {
    if (expected.size > 0)
      findings.push('policy-changes.jsonl: missing, but the chain records policy changes');
    return findings;
  }
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  for (const [index, line] of lines.entries()) {
    let change: PolicyChange & { grantId?: unknown; eventSeq?: unknown };
    try {
      change = parseJsonRecord(line, `policy-changes.jsonl line ${index + 1}`) as typeof change;
    } catch {
      findings.push(`policy-changes.jsonl: line ${index + 1} is not JSON`);
      continue;
    }
    for (const side of ['before', 'after'] as const) {
      const document = change[side];
      const stated = change[`${side}Sha256`];
      const actual = typeof document === 'string' ? sha256(document) : null;
      if (actual !== (stated ?? null)) {
        findings.push(
          `policy-changes.jsonl: line ${index + 1} (${String(change.policy)}): the ${side} document does not hash to ${String(stated)}`,
        );
      }
    }
    const key = canonicalJson(change as unknown as Record<string, unknown>);
    if (!expected.delete(key)) {
      findings.push(
        `policy-changes.jsonl: line ${index + 1} (${String(change.policy)} of grant ${String(change.grantId)}) is not a change the chain records`,
      );
    }
  }
  for (const grantId of expected.values()) {
    findings.push(`policy-changes.jsonl: a policy change the chain records for grant ${grantId} has no line`);
  }
  return findings;
}
