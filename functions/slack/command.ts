import type { App, SlashCommand } from '@slack/bolt';
import type { Services } from '../runtime/services';
import { isRunning } from '../steps/campaign-status';
import { runCancel } from './command-cancel';
import { type CommandCaller, describeCaller, resolveCampaign } from './command-common';
import { remindOpenTasksNow } from './command-remind';
import { runStart } from './command-start';
import { runStatus } from './command-status';
import {
  CommandUsageError,
  type ParsedCommand,
  parseCommandText,
  SLASH_COMMAND,
  type Subcommand,
  USAGE,
} from './command-text';
import { postToResponseUrl } from './response-url';
import { createMembershipChecker, type MembershipChecker, UserGroupLookupError } from './user-group';

/** What `remind` calls: functions/steps/reminders.ts ("cadence") sends the reminders and records them. */
export type { CommandCaller } from './command-common';

export type RemindNow = (
  input: { campaignId: string; requestedBy: string },
  services: Services,
) => Promise<{
  reminded: Array<{ reviewer: string; channel: 'slack' | 'email'; undecided: number }>;
  failed: Array<{ reviewer: string; error: string }>;
}>;

export interface CommandDependencies {
  membership: MembershipChecker;
  /** Sends the reminders (command-remind.ts; tests pass a stub). */
  remindNow: RemindNow;
}

/** How long the reply to a command may take to post (response_url takes replies for 30 minutes). */
export const COMMAND_REPLY_DEADLINE_MS = 5_000;

/**
 * `/access-review` for the security team. Bolt has checked the signature (and the request checks
 * in front of it the shape). The listener acknowledges at once (a usage error is the
 * acknowledgement itself), then checks membership of `slack.securityTeamUserGroup` with Slack and
 * runs the subcommand, and answers through the command's response_url, visible to the caller only.
 */
export function registerCommandListener(
  app: App,
  services: Services,
  dependencies: Partial<CommandDependencies> = {},
): void {
  const deps: CommandDependencies = {
    membership: dependencies.membership ?? createMembershipChecker({ slack: services.slack }),
    remindNow: dependencies.remindNow ?? remindOpenTasksNow,
  };
  app.command(SLASH_COMMAND, async ({ ack, command }) => {
    const caller = callerOf(command);
    let parsed: ParsedCommand;
    try {
      parsed = parseCommandText(command.text ?? '');
    } catch (error) {
      if (!(error instanceof CommandUsageError)) throw error;
      await ack({ response_type: 'ephemeral', text: usageText(error) });
      return;
    }
    if (parsed.subcommand === 'help') {
      await ack({ response_type: 'ephemeral', text: USAGE });
      return;
    }
    await ack({ response_type: 'ephemeral', text: `Working on \`${SLASH_COMMAND} ${parsed.subcommand}\`…` });
    const reply = await runCommand(parsed, caller, services, deps);
    await sendReply(services, command.response_url, reply);
  });
}

/**
 * Authorizes and runs a parsed subcommand; returns the text for the caller. Never throws: a fault
 * is logged and answered with what is known to have happened.
 */
export async function runCommand(
  parsed: Exclude<ParsedCommand, { subcommand: 'help' }>,
  caller: CommandCaller,
  services: Services,
  deps: CommandDependencies,
): Promise<string> {
  const refusal = await authorize(parsed.subcommand, caller, services, deps.membership);
  if (refusal) return refusal;
  services.log.info('slash command', { who: caller.userId, subcommand: parsed.subcommand });
  try {
    switch (parsed.subcommand) {
      case 'start':
        return await runStart(parsed, caller, services);
      case 'status':
        return await runStatus(parsed.campaignId, services);
      case 'remind':
        return await runRemind(parsed.campaignId, caller, services, deps.remindNow);
      case 'cancel':
        return await runCancel(parsed, caller, services);
    }
  } catch (error) {
    services.log.error('slash command failed', {
      who: caller.userId,
      subcommand: parsed.subcommand,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return `\`${parsed.subcommand}\` failed: ${error instanceof Error ? error.name : 'an error'}. Check \`${SLASH_COMMAND} status\` for what happened before running it again.`;
  }
}

/**
 * Membership of the configured user group, read from Slack. No group configured, a lookup that
 * failed, or someone outside the group: refused, logged as a warning with who and what.
 */
async function authorize(
  subcommand: Subcommand,
  caller: CommandCaller,
  services: Services,
  membership: MembershipChecker,
): Promise<string | undefined> {
  const group = services.config.slack.securityTeamUserGroup;
  const refuse = (reason: string, text: string, fields: Record<string, unknown> = {}) => {
    services.log.warn('slash command refused', { who: caller.userId, subcommand, reason, ...fields });
    return text;
  };
  if (!group) {
    return refuse(
      'no security team user group configured',
      `Nothing was done: \`${SLASH_COMMAND}\` is turned off because no security team is configured (\`slack.securityTeamUserGroup\` in the access-review configuration).`,
    );
  }
  let member: boolean;
  try {
    member = await membership.isMember(group, caller.userId);
  } catch (error) {
    if (!(error instanceof UserGroupLookupError)) throw error;
    return refuse(
      'membership lookup failed',
      `Nothing was done: Slack could not confirm that you are in the security team's user group (${error.message}). Try again in a moment.`,
      { group },
    );
  }
  if (!member) {
    return refuse(
      'not a member of the security team user group',
      `Nothing was done: \`${SLASH_COMMAND} ${subcommand}\` is for members of the security team's Slack user group <!subteam^${group}>, and you are not one. This attempt was logged.`,
      { group },
    );
  }
  return undefined;
}

async function runRemind(
  campaignId: string | undefined,
  caller: CommandCaller,
  services: Services,
  remindNow: RemindNow,
): Promise<string> {
  const resolved = await resolveCampaign(campaignId, 'remind', services);
  if ('text' in resolved) return resolved.text;
  const { campaign } = resolved;
  if (!isRunning(campaign) || campaign.cancellation) {
    return `Campaign ${campaign.campaignId} is ${campaign.cancellation ? 'cancelled' : campaign.status}: nobody is reminded.`;
  }
  if (campaign.status !== 'in_review') {
    return `Campaign ${campaign.campaignId} is ${campaign.status}, not in review: nobody is reminded.`;
  }
  const result = await remindNow(
    { campaignId: campaign.campaignId, requestedBy: describeCaller(caller) },
    services,
  );
  const lines = [
    result.reminded.length === 0
      ? `Campaign ${campaign.campaignId}: no reviewer has undecided grants; nobody was reminded.`
      : `Campaign ${campaign.campaignId}: reminded ${result.reminded.length} reviewer(s): ${result.reminded
          .map(
            (r) =>
              `${r.reviewer} (${r.undecided} undecided, by ${r.channel === 'slack' ? 'Slack' : 'email'})`,
          )
          .join(', ')}.`,
  ];
  if (result.failed.length > 0) {
    lines.push(
      `Could not remind ${result.failed.length}: ${result.failed.map((f) => `${f.reviewer} (${f.error})`).join(', ')}.`,
    );
  }
  return lines.join('\n');
}

function callerOf(command: SlashCommand): CommandCaller {
  return {
    userId: command.user_id,
    userName: typeof command.user_name === 'string' && command.user_name !== '' ? command.user_name : null,
    teamId: command.team_id,
  };
}

function usageText(error: CommandUsageError): string {
  const what = error.subcommand ? `\`${SLASH_COMMAND} ${error.subcommand}\`` : `\`${SLASH_COMMAND}\``;
  return [`${what} was not run:`, ...error.problems.map((problem) => `• ${problem}`), '', USAGE].join('\n');
}

async function sendReply(services: Services, responseUrl: string, text: string): Promise<void> {
  try {
    await postToResponseUrl(
      responseUrl,
      { response_type: 'ephemeral', replace_original: false, text },
      performance.now() + COMMAND_REPLY_DEADLINE_MS,
    );
  } catch (error) {
    services.log.warn('could not answer a slash command', {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
