import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { awsClientConfig } from '../../functions/core/call-budget';
import { formatScope } from '../../functions/core/scope';
import { checkCampaignRequest } from '../../functions/steps/start-campaign';

export interface StartOnAwsOptions {
  stateMachineArn: string;
  requestedBy: string;
  /** Scope terms (`repo:acme/api`, `user:carol`…); absent or empty: the whole organisation. */
  scope?: readonly string[];
  /** Why the campaign runs: required (an ad-hoc review says why; the evidence shows it). */
  reason?: string;
  /** Execution names are unique per state machine for 90 days; the campaign id is derived from it. */
  now?: Date;
  client?: SFNClient;
}

/**
 * An ad-hoc campaign on the deployed stack: the execution input the quarterly schedule sends, with
 * `trigger: manual`, who asked for it, what to review and why, so the evidence says why the review
 * ran and what it covered. The scope and reason are checked here first (CampaignRequestError naming
 * every bad term) so a typo is told at once instead of as a failed execution; StartCampaign checks
 * them again against the deployment's configuration (the organisation, the configured connectors).
 */
export async function startCampaignOnAws(
  options: StartOnAwsOptions,
): Promise<{ executionArn: string; name: string; scope: string[]; reason: string }> {
  const request = checkCampaignRequest({
    trigger: 'manual',
    scope: options.scope ? [...options.scope] : undefined,
    reason: options.reason,
  });
  const scope = formatScope(request.scope);
  // checkCampaignRequest refuses a manual campaign without one.
  const reason = request.reason ?? '';
  const now = options.now ?? new Date();
  const name = `manual-${now.toISOString().replace(/[:.]/g, '-')}`;
  // The state machine's own region, whatever the caller's default is.
  const region = options.stateMachineArn.split(':')[3];
  const client = options.client ?? new SFNClient({ ...awsClientConfig(), ...(region ? { region } : {}) });
  const result = await client.send(
    new StartExecutionCommand({
      stateMachineArn: options.stateMachineArn,
      name,
      input: JSON.stringify({ trigger: 'manual', requestedBy: options.requestedBy, scope, reason }),
    }),
  );
  return { executionArn: result.executionArn ?? '', name, scope, reason };
}
