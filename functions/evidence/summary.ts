import type { ApprovalRequest, StoredGuardItem, StoredGuardSummary } from '../store/approvals';
import type { Campaign } from '../store/campaigns';
import type { Decision } from '../store/decisions';
import { type CampaignEvent, verifyChain } from '../store/events';
import type { StoredGrant } from '../store/grants';
import type { Store } from '../store/index';
import type { Revocation, Verification } from '../store/outcomes';
import type { ReviewTask } from '../store/tasks';

export interface CampaignSummary {
  campaignId: string;
  organization: string;
  status: string;
  trigger: string;
  requestedBy: string;
  startedAt: string;
  completedAt: string | null;
  grants: number;
  /** Grants by kind (organization_membership, deploy_key …), for the auditor's view of scope. */
  grantsByKind: Record<string, number>;
  /** Grants carrying each risk flag. */
  flagged: Record<string, number>;
  /** What each connector's snapshot cost at its source. */
  sourceUsage: Campaign['sourceUsage'] | null;
  reviewable: number;
  derived: number;
  reviewersAsked: number;
  reviewersCompleted: number;
  reviewersUnresponsive: number;
  decided: number;
  kept: number;
  revoked: number;
  undecided: number;
  unroutable: number;
  revocationsApplied: number;
  revocationsFailed: number;
  /** Revocations the revocation guard held for the security team (applied only if approved). */
  revocationsHeld: number;
  /** Held revocations that were not approved (rejected, or no answer within the window). */
  revocationsRejected: number;
  /** Revocations of the tool's own identity, never applied. */
  revocationsRefused: number;
  /**
   * The revocation guard: its limits and counts, and the security team's answer on what it held
   * (null for a campaign from before the guard, or one that never reached it).
   */
  revocationGuard: {
    limits: StoredGuardSummary['limits'];
    revocations: number;
    reviewable: number;
    percentAllowance: number;
    overPercentLimit: boolean;
    counts: StoredGuardSummary['counts'];
    ownIdentities: StoredGuardSummary['ownIdentities'];
    approval: {
      status: ApprovalRequest['status'];
      decidedBy: string | null;
      decidedBySlackUserId: string | null;
      decidedAt: string | null;
      reason: string | null;
    } | null;
  } | null;
  /** Revoke decisions no API could carry out: each names what a person must do. */
  remediationsRequired: number;
  /** Of those, how many the last check still found (the remediation is not done yet). */
  remediationsOpen: number;
  verifiedAbsent: number;
  stillPresent: number;
  events: number;
  chainHead: string | null;
  chainIntact: boolean;
}

export interface CampaignRecords {
  campaign: Campaign;
  grants: StoredGrant[];
  tasks: ReviewTask[];
  decisions: Decision[];
  revocations: Revocation[];
  verifications: Verification[];
  events: CampaignEvent[];
  guard: StoredGuardSummary | undefined;
  guardItems: StoredGuardItem[];
  approval: ApprovalRequest | undefined;
}

/** Everything the table holds about a campaign, read once for a summary or an evidence export. */
export async function loadCampaignRecords(store: Store, campaignId: string): Promise<CampaignRecords> {
  const [
    campaign,
    grants,
    tasks,
    decisions,
    revocations,
    verifications,
    events,
    guard,
    guardItems,
    approval,
  ] = await Promise.all([
    store.campaigns.get(campaignId),
    store.grants.list(campaignId),
    store.tasks.list(campaignId),
    store.decisions.list(campaignId),
    store.outcomes.listRevocations(campaignId),
    store.outcomes.listVerifications(campaignId),
    store.events.list(campaignId),
    store.approvals.getGuardSummary(campaignId),
    store.approvals.listGuardItems(campaignId),
    store.approvals.get(campaignId),
  ]);
  return {
    campaign,
    grants,
    tasks,
    decisions,
    revocations,
    verifications,
    events,
    guard,
    guardItems,
    approval,
  };
}

/** Everything here is counted from the table, so the summary can be rebuilt at any time. */
export async function summarizeCampaign(store: Store, campaignId: string): Promise<CampaignSummary> {
  return summarize(await loadCampaignRecords(store, campaignId));
}

export function summarize(records: CampaignRecords): CampaignSummary {
  const { campaign, grants, tasks, decisions, revocations, verifications, events, guard, approval } = records;
  const campaignId = campaign.campaignId;
  const reviewable = grants.filter((g) => g.reviewable);
  const chain = verifyChain(events);
  return {
    campaignId,
    organization: campaign.organization,
    status: campaign.status,
    trigger: campaign.trigger,
    requestedBy: campaign.requestedBy,
    startedAt: campaign.startedAt,
    completedAt: campaign.completedAt ?? null,
    grants: grants.length,
    grantsByKind: tally(grants.map((g) => g.grantKind)),
    flagged: tally(grants.flatMap((g) => g.flags ?? [])),
    sourceUsage: campaign.sourceUsage ?? null,
    reviewable: reviewable.length,
    derived: grants.length - reviewable.length,
    reviewersAsked: tasks.length,
    reviewersCompleted: tasks.filter((t) => t.status === 'completed').length,
    reviewersUnresponsive: tasks.filter((t) => t.status === 'unresponsive').length,
    decided: decisions.length,
    kept: decisions.filter((d) => d.decision === 'keep').length,
    revoked: decisions.filter((d) => d.decision === 'revoke').length,
    undecided: reviewable.filter((g) => g.reviewer).length - decisions.length,
    unroutable: reviewable.filter((g) => !g.reviewer).length,
    revocationsApplied: revocations.filter((r) => r.status === 'removed' || r.status === 'already_absent')
      .length,
    revocationsFailed: revocations.filter((r) => r.status === 'failed').length,
    revocationsHeld: guard?.counts.held ?? 0,
    revocationsRejected: revocations.filter((r) => r.status === 'rejected').length,
    revocationsRefused: revocations.filter((r) => r.status === 'refused_protected').length,
    revocationGuard: guard
      ? {
          limits: guard.limits,
          revocations: guard.revocations,
          reviewable: guard.reviewable,
          percentAllowance: guard.percentAllowance,
          overPercentLimit: guard.overPercentLimit,
          counts: guard.counts,
          ownIdentities: guard.ownIdentities,
          approval: approval
            ? {
                status: approval.status,
                decidedBy: approval.decidedBy?.login ?? null,
                decidedBySlackUserId: approval.decidedBy?.slackUserId ?? null,
                decidedAt: approval.decidedAt ?? null,
                reason: approval.expiredReason ?? null,
              }
            : null,
        }
      : null,
    remediationsRequired: revocations.filter((r) => r.status === 'remediation_required').length,
    remediationsOpen: revocations.filter(
      (r) =>
        r.status === 'remediation_required' &&
        verifications.find((v) => v.grantId === r.grantId)?.status !== 'absent',
    ).length,
    verifiedAbsent: verifications.filter((v) => v.status === 'absent').length,
    stillPresent: verifications.filter((v) => v.status === 'present').length,
    events: events.length,
    chainHead: chain.ok ? chain.head : null,
    chainIntact: chain.ok,
  };
}

/** The numbers of a summary (no ids, times or hashes): what the campaign record and the final event keep. */
export const SUMMARY_COUNTS = [
  'grants',
  'reviewable',
  'derived',
  'reviewersAsked',
  'reviewersCompleted',
  'reviewersUnresponsive',
  'decided',
  'kept',
  'revoked',
  'undecided',
  'unroutable',
  'revocationsApplied',
  'revocationsFailed',
  'revocationsHeld',
  'revocationsRejected',
  'revocationsRefused',
  'remediationsRequired',
  'remediationsOpen',
  'verifiedAbsent',
  'stillPresent',
  'events',
] as const satisfies ReadonlyArray<keyof CampaignSummary>;

export function countsOf(summary: CampaignSummary): Record<string, number> {
  return Object.fromEntries(SUMMARY_COUNTS.map((name) => [name, summary[name]]));
}

function tally(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of [...values].sort()) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
