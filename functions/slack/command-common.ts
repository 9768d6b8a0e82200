import type { Services } from '../runtime/services';
import { runningCampaigns } from '../steps/campaign-status';
import type { Campaign } from '../store/campaigns';
import { SLASH_COMMAND, type Subcommand } from './command-text';

/** Who ran the command, from the signed request (never from its text). */
export interface CommandCaller {
  userId: string;
  /** Slack's `user_name` (legacy, may be absent): for people reading the evidence only. */
  userName: string | null;
  teamId: string;
}

/** `U0ALICE01 (alice)`: the campaign's requestedBy and the logs' `who`. */
export function describeCaller(caller: CommandCaller): string {
  return caller.userName ? `${caller.userId} (${caller.userName})` : caller.userId;
}

/**
 * The campaign a subcommand acts on: the one named, or the only running one. Several running (or
 * none) is an answer, not a guess.
 */
export async function resolveCampaign(
  campaignId: string | undefined,
  subcommand: Subcommand,
  services: Services,
): Promise<{ campaign: Campaign } | { text: string }> {
  if (campaignId) {
    const campaign = await services.store.campaigns.find(campaignId);
    return campaign ? { campaign } : { text: `There is no campaign ${campaignId}.` };
  }
  const running = await runningCampaigns(services);
  if (running.length === 1) return { campaign: running[0] as Campaign };
  if (running.length === 0) return { text: 'No campaign is running.' };
  return {
    text: `${running.length} campaigns are running (${running.map((c) => c.campaignId).join(', ')}): name one, as in \`${SLASH_COMMAND} ${subcommand} ${running[0]?.campaignId}\`.`,
  };
}
