import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { startCampaignOnAws } from '../../lib/aws/start-campaign';

// No local emulator exists for Step Functions' API; the response shape follows the
// StartExecution API reference ({ executionArn, startDate }).
const sfn = mockClient(SFNClient);
afterEach(() => sfn.reset());

describe('starting an ad-hoc campaign on AWS', () => {
  it('starts the deployed state machine with a manual trigger and who asked', async () => {
    const arn = 'arn:aws:states:eu-west-1:123456789012:stateMachine:AccessReview';
    sfn.on(StartExecutionCommand).resolves({
      executionArn: `${arn.replace(':stateMachine:', ':execution:')}:manual-2026-11-25T22-00-00-000Z`,
      startDate: new Date('2026-11-25T22:00:00Z'),
    });
    const started = await startCampaignOnAws({
      stateMachineArn: arn,
      requestedBy: 'security-team',
      now: new Date('2026-11-25T22:00:00Z'),
      client: new SFNClient({ region: 'eu-west-1' }),
    });
    expect(started.name).toBe('manual-2026-11-25T22-00-00-000Z');
    const input = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(input.stateMachineArn).toBe(arn);
    expect(input.name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(JSON.parse(input.input ?? '')).toEqual({ trigger: 'manual', requestedBy: 'security-team' });
  });
});
