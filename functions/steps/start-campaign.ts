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

/** `2026-Q4-1a2b3c4d`: readable by an auditor (which quarter) and unique per execution. */
export function campaignIdFor(executionName: string, at: Date): string {
  const quarter = Math.floor(at.getUTCMonth() / 3) + 1;
  const suffix = createHash('sha256').update(executionName).digest('hex').slice(0, 8);
  return `${at.getUTCFullYear()}-Q${quarter}-${suffix}`;
}

export async function startCampaign(
  input: StartCampaignInput,
  services: Services,
): Promise<StartCampaignOutput> {
  const now = services.now();
  const campaignId = campaignIdFor(input.executionName, now);
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
    },
    now,
  );
  services.progress(
    `Campaign ${campaignId} started (${campaign.trigger}, requested by ${campaign.requestedBy})`,
  );
  return { campaignId };
}
