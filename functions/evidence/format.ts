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

export const DECISIONS_HEADER = [
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

export const REVOCATIONS_HEADER = [
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
