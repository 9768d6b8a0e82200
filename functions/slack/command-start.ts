import { parseScope, scopeProblems } from '../core/scope';
import type { Services } from '../runtime/services';
import { type CommandCaller, describeCaller } from './command-common';
import { SLASH_COMMAND } from './command-text';

/**
 * `/access-review start [scope terms] -- reason`: starts a campaign now (StartExecution on AWS, a
 * background run on the embedded host) with `trigger: slack`, who asked (Slack id and name), the
 * scope and the reason; StartCampaign records them in `campaign_started`. Terms this deployment
 * cannot review (another organisation, a connector not configured) are refused before anything runs.
 */
export async function runStart(
  parsed: { scope: string[]; reason: string },
  caller: CommandCaller,
  services: Services,
): Promise<string> {
  const problems = scopeProblems(parseScope(parsed.scope), services.config);
  if (problems.length > 0) {
    return [`Nothing was started: the scope cannot be reviewed here:`, ...problems.map((p) => `• ${p}`)].join(
      '\n',
    );
  }
  if (!services.startCampaign) {
    return 'Nothing was started: this endpoint cannot start campaigns (no state machine is configured for it).';
  }
  const { executionName } = await services.startCampaign({
    trigger: 'slack',
    requestedBy: describeCaller(caller),
    scope: parsed.scope,
    reason: parsed.reason,
  });
  services.log.info('campaign started from Slack', {
    who: caller.userId,
    executionName,
    scopeTerms: parsed.scope.length,
  });
  const scope = parsed.scope.length === 0 ? 'everything' : parsed.scope.join(', ');
  return `Started a campaign over ${scope} (execution ${executionName}), reason: "${parsed.reason}". It is listed by \`${SLASH_COMMAND} status\` once its snapshot begins.`;
}
