import type { Services } from '../runtime/services';
import type { Campaign } from '../store/campaigns';
import type { TaskStatus } from '../store/tasks';

/** One reviewer's task, as `/access-review status` shows it. */
export interface ReviewerProgress {
  reviewer: string;
  slackUserId: string;
  status: TaskStatus;
  decided: number;
  total: number;
  dueAt: string;
  /** `reminder_sent` events for this reviewer. */
  reminders: number;
  /** Grants of this task moved to someone else by escalation (`grant_reassigned`, by escalation). */
  escalated: number;
  /** Grants of this task handed to someone else by the reviewer (`grant_reassigned`, by delegation). */
  delegated: number;
}

export interface CampaignStatusReport {
  campaign: Campaign;
  reviewers: ReviewerProgress[];
  totals: {
    tasks: number;
    openTasks: number;
    grants: number;
    decided: number;
    reminders: number;
    escalations: number;
    delegations: number;
  };
}

/** The statuses of a campaign whose workflow is still running (a cancelled one until Finalize). */
const RUNNING: ReadonlySet<Campaign['status']> = new Set([
  'snapshotting',
  'assigning',
  'in_review',
  'revoking',
  'verifying',
]);

export function isRunning(campaign: Campaign): boolean {
  return RUNNING.has(campaign.status);
}

/** The campaigns still running, newest first. */
export async function runningCampaigns(services: Services): Promise<Campaign[]> {
  return (await services.store.campaigns.list()).filter(isRunning);
}

/**
 * Progress of one campaign per reviewer: decided of total, the task's status and due time, and the
 * reminders and reassignments the chain records. Reads the campaign, its tasks (one Query) and its
 * events page by page (counts only: nothing of an event is kept but its type and reviewer).
 */
export async function campaignStatus(
  campaignId: string,
  services: Services,
): Promise<CampaignStatusReport | undefined> {
  const { store } = services;
  const campaign = await store.campaigns.find(campaignId);
  if (!campaign) return undefined;
  const tasks = await store.tasks.list(campaignId);
  const reminders = new Map<string, number>();
  const escalated = new Map<string, number>();
  const delegated = new Map<string, number>();
  const bump = (map: Map<string, number>, key: unknown) => {
    if (typeof key === 'string') map.set(key, (map.get(key) ?? 0) + 1);
  };
  for await (const page of store.events.pages(campaignId)) {
    for (const event of page) {
      if (event.type === 'reminder_sent') bump(reminders, event.data.reviewer);
      else if (event.type === 'grant_reassigned') {
        bump(event.data.by === 'escalation' ? escalated : delegated, event.data.taskReviewer);
      }
    }
  }
  const reviewers = tasks
    .map(
      (task): ReviewerProgress => ({
        reviewer: task.reviewer,
        slackUserId: task.slackUserId,
        status: task.status,
        decided: task.decidedCount,
        total: task.grantCount,
        dueAt: task.dueAt,
        reminders: reminders.get(task.reviewer) ?? 0,
        escalated: escalated.get(task.reviewer) ?? 0,
        delegated: delegated.get(task.reviewer) ?? 0,
      }),
    )
    .sort((a, b) => a.reviewer.localeCompare(b.reviewer));
  const sum = (pick: (r: ReviewerProgress) => number) => reviewers.reduce((n, r) => n + pick(r), 0);
  return {
    campaign,
    reviewers,
    totals: {
      tasks: reviewers.length,
      openTasks: reviewers.filter((r) => r.status === 'pending' || r.status === 'awaiting').length,
      grants: sum((r) => r.total),
      decided: sum((r) => r.decided),
      reminders: sum((r) => r.reminders),
      escalations: sum((r) => r.escalated),
      delegations: sum((r) => r.delegated),
    },
  };
}
