/**
 * The evidence folder's format: exactly these files, each listed once in manifest.json (which is
 * not listed in itself). verify-evidence opens nothing else: a manifest entry of another name is a
 * finding, never a path it follows.
 */
export const EVIDENCE_FILES = [
  'grants.csv',
  'decisions.csv',
  'revocations.csv',
  'policy-changes.jsonl',
  'reviewers.csv',
  'events.jsonl',
  'summary.json',
  // The anchor outside the table (signing/evidence.ts): signatures of chain heads, and the keys.
  'signatures.jsonl',
  'signing-key.pem',
  // Rendered (report/index.ts) from summary.json, reviewers.csv, decisions.csv, revocations.csv and
  // events.jsonl once they are written, before the manifest.
  'report.html',
] as const;

export type EvidenceFileName = (typeof EVIDENCE_FILES)[number];

export const MANIFEST_FILE = 'manifest.json';

export function isEvidenceFileName(name: string): name is EvidenceFileName {
  return (EVIDENCE_FILES as readonly string[]).includes(name);
}

export const GRANTS_HEADER = [
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
] as const;

/**
 * The evidence format this release writes. Format 2 (issue 10) added decisions.csv's decided_by,
 * downgrade_to, bulk and exception columns, revocations.csv's decision, downgrade_to and to_held columns (and a row per downgrade),
 * summary.json's `format` and the fields summary.ts FORMAT_2_SUMMARY_FIELDS lists, and the report's
 * sections on them; the manifest says `"format": 2`. A folder whose manifest says no format is
 * format 1 (written before issue 10): verify-evidence checks it with format 1's headers and
 * summary, and finds it if its chain records what format 1 cannot show.
 */
export const EVIDENCE_FORMAT = 2;
export type EvidenceFormat = 1 | 2;

/** decisions.csv as format 1 wrote it. */
export const DECISIONS_HEADER_V1 = [
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
] as const;

/**
 * `reviewer` is the task's reviewer (the task never moves); `decided_by` who decided: the reviewer,
 * the person the grant was handed to (delegation, escalation), or nobody for the end-of-window
 * policy, whose rows say `end_of_window_policy` in `exception`.
 */
export const DECISIONS_HEADER = [
  ...DECISIONS_HEADER_V1,
  'decided_by',
  'downgrade_to',
  'bulk',
  'exception',
] as const;

/** decisions.csv's `exception` cell of a decision the end-of-window policy took (not a review). */
export const POLICY_EXCEPTION = 'end_of_window_policy';

/** revocations.csv as format 1 wrote it (revoke decisions only). */
export const REVOCATIONS_HEADER_V1 = [
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
] as const;

/**
 * A row per revoke or downgrade decision: `decision` says which, `downgrade_to` the lower
 * entitlement, `to_held` whether reading the source again found it held directly (a downgrade's
 * verification reads both: the old entitlement gone by every path, the new one in place).
 * `decided_by` is who decided (format 1: always the task's reviewer).
 */
export const REVOCATIONS_HEADER = [...REVOCATIONS_HEADER_V1, 'decision', 'downgrade_to', 'to_held'] as const;

export function decisionsHeader(format: EvidenceFormat): readonly string[] {
  return format === 1 ? DECISIONS_HEADER_V1 : DECISIONS_HEADER;
}

export function revocationsHeader(format: EvidenceFormat): readonly string[] {
  return format === 1 ? REVOCATIONS_HEADER_V1 : REVOCATIONS_HEADER;
}

export const REVIEWERS_HEADER = [
  'reviewer',
  'slack_user_id',
  'grants',
  'status',
  'requested_at',
  'completed_at',
  'due_at',
] as const;

/** One reviewers.csv row: export writes it from the task, verify-evidence from the chain. */
export interface ReviewerLine {
  reviewer: string;
  slackUserId: string;
  grantCount: number;
  status: string;
  requestedAt?: string;
  completedAt?: string;
  dueAt: string;
}

export function reviewerRow(t: ReviewerLine): string[] {
  return [
    t.reviewer,
    t.slackUserId,
    String(t.grantCount),
    t.status,
    t.requestedAt ?? '',
    t.completedAt ?? '',
    t.dueAt,
  ];
}

/** summary.json's bytes: one writer for the export and for verify-evidence's rebuild. */
export function summaryText(summary: unknown): string {
  return `${JSON.stringify(summary, null, 2)}\n`;
}
