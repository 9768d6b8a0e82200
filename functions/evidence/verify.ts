import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Grant, Via } from '../core/grant';
import { grantContentHash, snapshotDigest } from '../steps/snapshot';
import { type CampaignEvent, verifyChain } from '../store/events';
import type { Manifest } from './export';

export interface EvidenceCheck {
  ok: boolean;
  findings: string[];
}

function viaFromLabel(label: string): Via {
  if (label === 'direct') return { kind: 'direct' };
  if (label.startsWith('team:')) return { kind: 'team', team: label.slice('team:'.length) };
  if (label.startsWith('organization_base:')) {
    return { kind: 'organization_base', organization: label.slice('organization_base:'.length) };
  }
  throw new Error(`unknown via ${label}`);
}

/**
 * What an auditor can run without trusting us: every file matches the manifest, the event chain
 * recomputes to its head, and grants.csv hashes to the digest the snapshot event recorded.
 */
export async function verifyEvidence(dir: string): Promise<EvidenceCheck> {
  const findings: string[] = [];
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
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
    .map((line) => JSON.parse(line) as CampaignEvent);
  const chain = verifyChain(events);
  if (!chain.ok) findings.push(`events.jsonl: chain broken at seq ${chain.seq}: ${chain.reason}`);
  else if (chain.head !== manifest.chainHead)
    findings.push('events.jsonl: chain head differs from the manifest');

  const rows = parse(await readFile(join(dir, 'grants.csv')), { columns: true }) as Record<string, string>[];
  const hashes = new Map<string, string>();
  for (const row of rows) {
    const grant = {
      grantId: row.grant_id,
      connector: row.connector,
      resourceType: row.resource_type,
      resource: row.resource,
      principalType: row.principal_type,
      principal: row.principal,
      entitlement: row.entitlement,
      via: viaFromLabel(row.via ?? ''),
      reviewable: row.reviewable === 'true',
      derivedFrom: row.derived_from ? (row.derived_from ?? '').split(' ') : [],
      raw: {},
    } as Grant;
    const hash = grantContentHash(grant);
    if (hash !== row.content_sha256)
      findings.push(`grants.csv: row ${row.grant_id} does not match its content hash`);
    hashes.set(grant.grantId, hash);
  }
  const snapshot = events.find((e) => e.type === 'snapshot_taken');
  if (!snapshot) findings.push('events.jsonl: no snapshot_taken event');
  else if (snapshot.data.digest !== snapshotDigest(hashes)) {
    findings.push('grants.csv: the grants do not hash to the digest recorded by the snapshot_taken event');
  }
  return { ok: findings.length === 0, findings };
}
