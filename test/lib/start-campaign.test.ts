import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CampaignRequestError } from '../../functions/steps/start-campaign';
import { startCampaignOnAws } from '../../lib/aws/start-campaign';

// No local emulator exists for Step Functions' API; the response shape follows the
// StartExecution API reference ({ executionArn, startDate }).
const sfn = mockClient(SFNClient);
afterEach(() => sfn.reset());

describe('starting an ad-hoc campaign on AWS', () => {
  it('starts the deployed state machine with a manual trigger, who asked, the scope and the reason', async () => {
    const arn = 'arn:aws:states:eu-west-1:123456789012:stateMachine:AccessReview';
    sfn.on(StartExecutionCommand).resolves({
      executionArn: `${arn.replace(':stateMachine:', ':execution:')}:manual-2026-11-25T22-00-00-000Z`,
      startDate: new Date('2026-11-25T22:00:00Z'),
    });
    const started = await startCampaignOnAws({
      stateMachineArn: arn,
      requestedBy: 'security-team',
      scope: ['repo:acme/api', 'user:carol', 'repo:acme/API'],
      reason: 'contractor offboarding (INC-42)',
      now: new Date('2026-11-25T22:00:00Z'),
      client: new SFNClient({ region: 'eu-west-1' }),
    });
    expect(started.name).toBe('manual-2026-11-25T22-00-00-000Z');
    const input = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(input.stateMachineArn).toBe(arn);
    expect(input.name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(JSON.parse(input.input ?? '')).toEqual({
      trigger: 'manual',
      requestedBy: 'security-team',
      scope: ['repo:acme/api', 'user:carol'],
      reason: 'contractor offboarding (INC-42)',
    });
  });

  it('refuses bad scope terms or a missing reason before calling Step Functions', async () => {
    const start = (scope: string[], reason?: string) =>
      startCampaignOnAws({
        stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:AccessReview',
        requestedBy: 'erin',
        scope,
        ...(reason !== undefined ? { reason } : {}),
        client: new SFNClient({ region: 'eu-west-1' }),
      });
    await expect(start(['repo:acme', 'connector:gitlab'], 'x')).rejects.toThrow(
      /scope "repo:acme": repo: expected <org>\/<name>\n {2}- scope "connector:gitlab"/,
    );
    await expect(start([])).rejects.toBeInstanceOf(CampaignRequestError);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});
