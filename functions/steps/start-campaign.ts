import { createHash } from 'node:crypto';
import type { Services } from '../runtime/services';

export interface StartCampaignInput {
  trigger?: string;
  requestedBy?: string;
  /** `$$.Execution.Name`: a retried StartCampaign in the same execution finds the same campaign. */
  executionName: string;
}

export interface StartCampaignOutput {
  campaignId: string;
}

/**
 * `2026-Q4-1a2b3c4d`: readable by an auditor (which quarter) and unique per execution. The quarter
 * is the one on the calendar of `timeZone` (the schedule's, config `schedule.timezone`): the
 * scheduled run at 09:00 on 1 January in Sydney is 22:00 on 31 December in UTC, and belongs to Q1
 * of the new year, not Q4 of the old one.
 */
export function campaignIdFor(executionName: string, at: Date, timeZone = 'UTC'): string {
  const { year, month } = calendarMonth(at, timeZone);
  const quarter = Math.floor((month - 1) / 3) + 1;
  const suffix = createHash('sha256').update(executionName).digest('hex').slice(0, 8);
  return `${year}-Q${quarter}-${suffix}`;
}

/** Year and month (1–12) of an instant on the Gregorian calendar of an IANA time zone. */
function calendarMonth(at: Date, timeZone: string): { year: number; month: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    calendar: 'gregory',
    numberingSystem: 'latn',
    year: 'numeric',
    month: 'numeric',
  }).formatToParts(at);
  const number = (type: 'year' | 'month') => Number(parts.find((part) => part.type === type)?.value);
  return { year: number('year'), month: number('month') };
}

export async function startCampaign(
  input: StartCampaignInput,
  services: Services,
): Promise<StartCampaignOutput> {
  const now = services.now();
  const campaignId = campaignIdFor(input.executionName, now, services.config.schedule.timezone);
  const { campaign } = await services.store.campaigns.create({
    campaignId,
    organization: services.config.github.organization,
    status: 'snapshotting',
    trigger: input.trigger ?? 'manual',
    requestedBy: input.requestedBy ?? 'unknown',
    executionName: input.executionName,
    startedAt: now.toISOString(),
    counts: {},
  });
  await services.store.events.appendOnce(
    campaignId,
    'campaign_started',
    {
      organization: campaign.organization,
      trigger: campaign.trigger,
      requestedBy: campaign.requestedBy,
      executionName: campaign.executionName,
      reviewWindowHours: services.config.review.windowHours,
      // Which configuration this campaign ran with (functions/runtime/config-file.ts).
      ...(services.configSha256 ? { configSha256: services.configSha256 } : {}),
    },
    now,
  );
  services.progress(
    `Campaign ${campaignId} started (${campaign.trigger}, requested by ${campaign.requestedBy})`,
  );
  return { campaignId };
}
