import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { awsClientConfig } from '../../functions/core/call-budget';

export interface StartOnAwsOptions {
  stateMachineArn: string;
  requestedBy: string;
  /** Execution names are unique per state machine for 90 days; the campaign id is derived from it. */
  now?: Date;
  client?: SFNClient;
}

/**
 * An ad-hoc campaign on the deployed stack: the same execution input the quarterly schedule
 * sends, with `trigger: manual` and who asked for it, so the evidence says why the review ran.
 */
export async function startCampaignOnAws(
  options: StartOnAwsOptions,
): Promise<{ executionArn: string; name: string }> {
  const now = options.now ?? new Date();
  const name = `manual-${now.toISOString().replace(/[:.]/g, '-')}`;
  // The state machine's own region, whatever the caller's default is.
  const region = options.stateMachineArn.split(':')[3];
  const client = options.client ?? new SFNClient({ ...awsClientConfig(), ...(region ? { region } : {}) });
  const result = await client.send(
    new StartExecutionCommand({
      stateMachineArn: options.stateMachineArn,
      name,
      input: JSON.stringify({ trigger: 'manual', requestedBy: options.requestedBy }),
    }),
  );
  return { executionArn: result.executionArn ?? '', name };
}
