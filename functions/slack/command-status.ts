import type { Services } from '../runtime/services';
import { type CampaignStatusReport, campaignStatus, runningCampaigns } from '../steps/campaign-status';
import { SLASH_COMMAND } from './command-text';

/** Reviewers listed per campaign; the rest are counted (Slack shows 40,000 characters at most). */
export const STATUS_REVIEWER_LINES = 40;
/** Campaigns shown when none is named. */
const STATUS_CAMPAIGNS = 5;

/** `/access-review status [campaignId]`: the named campaign, or every running one. */
export async function runStatus(campaignId: string | undefined, services: Services): Promise<string> {
  if (campaignId) {
    const report = await campaignStatus(campaignId, services);
    return report ? formatStatus(report) : `There is no campaign ${campaignId}.`;
  }
  const running = await runningCampaigns(services);
  if (running.length === 0) {
    return `No campaign is running. \`${SLASH_COMMAND} status <campaign id>\` shows a finished one.`;
  }
  const reports: string[] = [];
  for (const campaign of running.slice(0, STATUS_CAMPAIGNS)) {
    const report = await campaignStatus(campaign.campaignId, services);
    if (report) reports.push(formatStatus(report));
  }
  if (running.length > STATUS_CAMPAIGNS) {
    reports.push(
      `…and ${running.length - STATUS_CAMPAIGNS} more running: ${running
        .slice(STATUS_CAMPAIGNS)
        .map((c) => c.campaignId)
        .join(', ')}`,
    );
  }
  return reports.join('\n\n');
}

/** One campaign: a headline, then one line per reviewer (open tasks first). */
export function formatStatus(report: CampaignStatusReport): string {
  const { campaign, totals } = report;
  const state = campaign.cancellation
    ? `cancelled by <@${campaign.cancellation.by}> at ${campaign.cancellation.at}${campaign.cancellation.reason ? ` ("${campaign.cancellation.reason}")` : ''}${campaign.status === 'completed' ? '' : ', closing'}`
    : campaign.status === 'failed'
      ? `failed in ${campaign.failure?.state ?? 'a step'}`
      : campaign.status.replace('_', ' ');
  const lines = [
    `*Campaign ${campaign.campaignId}*: ${state}. Started ${campaign.startedAt} (${campaign.trigger}, by ${campaign.requestedBy}).`,
    `${totals.decided} of ${totals.grants} grants decided; ${totals.openTasks} of ${totals.tasks} reviewers still open; ${totals.reminders} reminder(s), ${totals.escalations} grant(s) escalated, ${totals.delegations} delegated.`,
  ];
  const open = (status: string) => (status === 'pending' || status === 'awaiting' ? 0 : 1);
  const reviewers = [...report.reviewers].sort(
    (a, b) => open(a.status) - open(b.status) || a.reviewer.localeCompare(b.reviewer),
  );
  for (const r of reviewers.slice(0, STATUS_REVIEWER_LINES)) {
    const extras = [
      r.reminders > 0 ? `${r.reminders} reminder(s)` : '',
      r.escalated > 0 ? `${r.escalated} escalated` : '',
      r.delegated > 0 ? `${r.delegated} delegated` : '',
    ].filter((part) => part !== '');
    lines.push(
      `• ${r.reviewer}: ${r.decided}/${r.total} decided, ${r.status}, due ${r.dueAt}${extras.length > 0 ? `, ${extras.join(', ')}` : ''}`,
    );
  }
  if (reviewers.length > STATUS_REVIEWER_LINES) {
    lines.push(`…and ${reviewers.length - STATUS_REVIEWER_LINES} more reviewers.`);
  }
  return lines.join('\n');
}
