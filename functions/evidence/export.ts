import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { PolicyChange } from '../connectors/connector';
import { MalformedRequestError } from '../core/errors';
import { viaLabel } from '../core/grant';
import { describeAllows, describeDetails, describeKind } from '../core/grant-kinds';
import { canonicalJson } from '../store/events';
import type { Store } from '../store/index';
import { grantContentHash, hashVersionOf } from './grant-digest';
import { loadCampaignRecords, summarize } from './summary';

export const EVIDENCE_FILES = [
  'grants.csv',
  'decisions.csv',
  'revocations.csv',
  'policy-changes.jsonl',
  'reviewers.csv',
  'events.jsonl',
  'summary.json',
] as const;

export interface Manifest {
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

function csv(header: string[], rows: unknown[][]): string {
  return stringify([header, ...rows], { cast: { boolean: (value) => String(value) } });
}

/**
 * Builds the evidence folder from the table alone: what was in scope, who decided what and when,
 * what was removed, and whether reading the source again confirmed it. Rebuilding from the same
 * table gives the same bytes in every file but the manifest's generatedAt.
 */
export async function exportEvidence(
  store: Store,
  campaignId: string,
  outDir: string,
  now: Date = new Date(),
): Promise<Manifest> {
  const records = await loadCampaignRecords(store, campaignId);
  const summary = summarize(records);
  const { tasks, decisions, revocations, verifications, events } = records;
  const grants = [...records.grants];
  grants.sort((a, b) => a.grantId.localeCompare(b.grantId));
  const byGrant = new Map(grants.map((g) => [g.grantId, g]));
  const decisionOf = new Map(decisions.map((d) => [d.grantId, d]));
  const revocationOf = new Map(revocations.map((r) => [r.grantId, r]));
  const verificationOf = new Map(verifications.map((v) => [v.grantId, v]));
  const guardOf = new Map(records.guardItems.map((item) => [item.grantId, item]));
  const taskOf = new Map(tasks.map((t) => [t.reviewer, t]));
  // Re-exporting an older campaign hashes its grants as its snapshot did, so the digest still holds.
  const hashVersion = hashVersionOf(events.find((e) => e.type === 'snapshot_taken')?.data);
  if (hashVersion === undefined) {
    throw new MalformedRequestError(
      `campaign ${campaignId} was snapshotted with a grant hash version this release does not know; export it with the release that took it`,
    );
  }

  const files: Record<(typeof EVIDENCE_FILES)[number], string> = {
    'grants.csv': csv(
      [
        'grant_id',
        'connector',
        'grant_kind',
        'resource_type',
        'resource',
        'principal_type',
        'principal',
        'entitlement',
        'via',
        'reviewable',
        'derived_from',
        'flags',
        'holder',
        'description',
        'details',
        'reviewer',
        'routing_reason',
        'snapshot_at',
        'content_sha256',
      ],
      grants.map((g) => [
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
      ]),
    ),
    'decisions.csv': csv(
      [
        'grant_id',
        'principal',
        'resource',
        'entitlement',
        'via',
        'reviewer',
        'decision',
        'decided_by_slack_user',
        'decided_at',
        'justification',
        'event_seq',
        'note',
      ],
      grants
        .filter((g) => g.reviewable)
        .map((g) => {
          const d = decisionOf.get(g.grantId);
          const task = g.reviewer ? taskOf.get(g.reviewer) : undefined;
          const note = d
            ? ''
            : !g.reviewer
              ? `no eligible reviewer: ${g.routingReason ?? ''}`
              : task?.status === 'unresponsive'
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
          ];
        }),
    ),
    'revocations.csv': csv(
      [
        'grant_id',
        'principal',
        'resource',
        'entitlement',
        'via',
        'decided_by',
        'decided_at',
        'grant_kind',
        'revocation_status',
        'applied_at',
        'action',
        'remediation',
        'error',
        'verification',
        'verified_at',
        'still_present_via',
        'policy_changes',
        'guard',
        'guard_reasons',
      ],
      decisions
        .filter((d) => d.decision === 'revoke')
        .sort((a, b) => a.grantId.localeCompare(b.grantId))
        .map((d) => {
          const g = byGrant.get(d.grantId);
          const r = revocationOf.get(d.grantId);
          const v = verificationOf.get(d.grantId);
          return [
            d.grantId,
            g?.principal ?? '',
            g?.resource ?? '',
            g?.entitlement ?? '',
            g ? viaLabel(g.via) : '',
            d.reviewer,
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
            guardOf.get(d.grantId)?.outcome ?? '',
            guardReasonsLabel(guardOf.get(d.grantId)?.reasons),
          ];
        }),
    ),
    // The exact documents each revocation changed, one line per document, in grant order: the
    // revocations.csv column names them by hash, this file holds the bytes those hashes are of.
    'policy-changes.jsonl': [...revocations]
      .sort((a, b) => a.grantId.localeCompare(b.grantId))
      .flatMap((r) =>
        (r.policyChanges ?? []).map(
          (change) => `${canonicalJson({ grantId: r.grantId, eventSeq: r.eventSeq ?? null, ...change })}\n`,
        ),
      )
      .join(''),
    'reviewers.csv': csv(
      ['reviewer', 'slack_user_id', 'grants', 'status', 'requested_at', 'completed_at', 'due_at'],
      [...tasks]
        .sort((a, b) => a.reviewer.localeCompare(b.reviewer))
        .map((t) => [
          t.reviewer,
          t.slackUserId,
          t.grantCount,
          t.status,
          t.requestedAt ?? '',
          t.completedAt ?? '',
          t.dueAt,
        ]),
    ),
    'events.jsonl': events.map((e) => `${canonicalJson(e)}\n`).join(''),
    'summary.json': `${JSON.stringify(summary, null, 2)}\n`,
  };

  await mkdir(outDir, { recursive: true });
  const manifest: Manifest = {
    campaignId,
    generatedAt: now.toISOString(),
    algorithm: 'sha256',
    files: [],
    chainHead: summary.chainHead,
    events: events.length,
  };
  for (const name of EVIDENCE_FILES) {
    const content = files[name];
    await writeFile(join(outDir, name), content);
    manifest.files.push({
      name,
      sha256: createHash('sha256').update(content).digest('hex'),
      bytes: Buffer.byteLength(content),
    });
  }
  await writeFile(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** `org_owner: alice is an owner…; last_owner: …` as revocations.csv shows a verdict's reasons. */
export function guardReasonsLabel(
  reasons: ReadonlyArray<{ code: string; detail: string }> | undefined,
): string {
  return (reasons ?? []).map((reason) => `${reason.code}: ${reason.detail}`).join('; ');
}
