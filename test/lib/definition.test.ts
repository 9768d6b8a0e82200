import { type RunOptions, StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLERS } from '../../lib/aws/handlers';
import {
  DEFAULT_LOCAL_REVIEW_WINDOW_SECONDS,
  LOCAL_TIMEOUT_LIMIT_SECONDS,
  type LocalWorkflow,
  synthesizeForLocalHost,
} from '../../lib/local/synthesized-workflow';
import { RETRYABLE_ERRORS, STATE_NAMES } from '../../lib/workflow/definition';
import { exampleConfig, type Json } from './support';

type State = Record<string, unknown>;

const config = exampleConfig();
let workflow: LocalWorkflow;

beforeAll(() => {
  workflow = synthesizeForLocalHost(config);
});

function allStates(container: { States: Record<string, State> }): Record<string, State> {
  const found: Record<string, State> = {};
  for (const [name, state] of Object.entries(container.States)) {
    found[name] = state;
    const processor = (state.ItemProcessor ?? state.Iterator) as
      | { States: Record<string, State> }
      | undefined;
    if (processor) Object.assign(found, allStates(processor));
  }
  return found;
}

function states(): Record<string, State> {
  return allStates(workflow.definition as unknown as { States: Record<string, State> });
}

describe('the synthesized review workflow', () => {
  it('has exactly the documented states, top level in order, RequestReview/MarkUnresponsive in the Map', () => {
    expect(Object.keys(states()).sort()).toEqual(Object.values(STATE_NAMES).sort());
    const order: string[] = [];
    let name: string | undefined = workflow.definition.StartAt;
    while (name) {
      order.push(name);
      const state = workflow.definition.States[name] as unknown as State;
      // The guard's Choice goes straight on to ApplyRevocations when nothing is held.
      name = (state.Next ?? state.Default) as string | undefined;
    }
    expect(order).toEqual([
      'StartCampaign',
      'Snapshot',
      'AssignReviewers',
      'ReviewEachReviewer',
      'CheckRevocations',
      'AnyRevocationHeld',
      'ApplyRevocations',
      'VerifyRevocations',
      'Finalize',
    ]);
  });

  it('is JSONPath only (the local runner ignores JSONata)', () => {
    const text = JSON.stringify(workflow.definition);
    expect(text).not.toMatch(/JSONata/i);
    expect(text).not.toContain('{%');
    for (const state of Object.values(states())) expect(state.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
  });

  it('waits for each reviewer with a task token for the configured window, without heartbeat', () => {
    const requestReview = states().RequestReview!;
    expect(requestReview.Resource).toMatch(/^arn:[^:]+:states:::lambda:invoke\.waitForTaskToken$/);
    expect(requestReview.HeartbeatSeconds).toBeUndefined();
    expect(requestReview.Parameters).toMatchObject({
      Payload: { 'campaignId.$': '$.campaignId', 'reviewer.$': '$.reviewer', 'taskToken.$': '$$.Task.Token' },
    });
    expect(requestReview.ResultPath).toBeNull();
    // The synthesized window is what the bridge found before rewriting it for local runs.
    expect(workflow.rewrittenTimeouts).toContainEqual({
      state: 'RequestReview',
      fromSeconds: config.review.windowHours * 3600,
      toSeconds: DEFAULT_LOCAL_REVIEW_WINDOW_SECONDS,
    });
    expect(requestReview.TimeoutSeconds).toBe(DEFAULT_LOCAL_REVIEW_WINDOW_SECONDS);
    expect(requestReview.Catch).toEqual([
      {
        ErrorEquals: ['States.Timeout', 'States.TaskFailed'],
        ResultPath: '$.error',
        Next: 'MarkUnresponsive',
      },
    ]);
  });

  it('checks the revocations after the reviews and asks the security team only when something is held', () => {
    const check = states().CheckRevocations!;
    expect(check.Parameters).toMatchObject({ Payload: { 'campaignId.$': '$.campaignId' } });
    expect(check.Next).toBe('AnyRevocationHeld');
    expect(states().AnyRevocationHeld).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.held', NumericGreaterThan: 0, Next: 'RequestRevocationApproval' }],
      Default: 'ApplyRevocations',
    });
    const approval = states().RequestRevocationApproval!;
    expect(approval.Resource).toMatch(/^arn:[^:]+:states:::lambda:invoke\.waitForTaskToken$/);
    expect(approval.Parameters).toMatchObject({
      Payload: { 'campaignId.$': '$.campaignId', 'taskToken.$': '$$.Task.Token' },
    });
    expect(Object.keys((approval.Parameters as { Payload: State }).Payload).sort()).toEqual([
      'campaignId.$',
      'taskToken.$',
    ]);
    expect(approval.ResultPath).toBeNull();
    expect(approval.Next).toBe('ApplyRevocations');
    expect(approval.Catch).toEqual([
      {
        ErrorEquals: ['States.Timeout', 'States.TaskFailed'],
        ResultPath: '$.error',
        Next: 'RejectHeldRevocations',
      },
    ]);
    // The approval window (hours on AWS) gets the local window, as the review window does.
    expect(workflow.rewrittenTimeouts).toContainEqual({
      state: 'RequestRevocationApproval',
      fromSeconds: config.revocationGuard.approvalWindowHours * 3600,
      toSeconds: DEFAULT_LOCAL_REVIEW_WINDOW_SECONDS,
    });
    expect(approval.TimeoutSeconds).toBe(DEFAULT_LOCAL_REVIEW_WINDOW_SECONDS);
    const reject = states().RejectHeldRevocations!;
    expect(reject.Parameters).toMatchObject({
      Payload: { 'campaignId.$': '$.campaignId', 'error.$': '$.error' },
    });
    expect(reject.ResultPath).toBeNull();
    expect(reject.Next).toBe('ApplyRevocations');
  });

  it('maps over the assigned reviewers, 20 at a time, passing only ids', () => {
    const map = states().ReviewEachReviewer!;
    expect(map).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.reviewers',
      MaxConcurrency: 40,
      ItemSelector: { 'campaignId.$': '$.campaignId', 'reviewer.$': '$$.Map.Item.Value' },
      ResultPath: null,
    });
  });

  it('retries every Lambda step on transient faults, never on the review timeout', () => {
    for (const [name, state] of Object.entries(states())) {
      if (state.Type !== 'Task') continue;
      const retry = state.Retry as Array<{ ErrorEquals: string[]; BackoffRate: number; MaxAttempts: number }>;
      expect(retry, name).toHaveLength(1);
      expect(retry[0]!.ErrorEquals.sort(), name).toEqual([...RETRYABLE_ERRORS].sort());
      expect(retry[0]!.ErrorEquals, name).not.toContain('States.Timeout');
      expect(retry[0]!.ErrorEquals, name).not.toContain('States.ALL');
      expect(retry[0]!.BackoffRate, name).toBeGreaterThan(1);
      expect(retry[0]!.MaxAttempts, name).toBeGreaterThan(1);
    }
    expect(RETRYABLE_ERRORS).toContain('TransientError');
  });

  it('gives StartCampaign the execution input and name, and passes only the campaign id onwards', () => {
    const start = states().StartCampaign!;
    expect((start.Parameters as State)['Payload.$']).toContain('$$.Execution.Name');
    for (const name of ['Snapshot', 'AssignReviewers', 'ApplyRevocations', 'VerifyRevocations', 'Finalize']) {
      expect(states()[name]!.Parameters, name).toMatchObject({ Payload: { 'campaignId.$': '$.campaignId' } });
      expect(states()[name]!.OutputPath, name).toBe('$.Payload');
    }
  });
});

describe('synthesizeForLocalHost', () => {
  it('resolves every CloudFormation intrinsic to local placeholders', () => {
    const text = JSON.stringify(workflow.definition);
    expect(text).not.toContain('Fn::');
    expect(text).not.toContain('"Ref"');
    expect(text).toContain('arn:aws:lambda:local:000000000000:function:snapshot');
  });

  it('maps every Task state to its handler and names the waitForTaskToken ones', () => {
    const tasks = Object.entries(states())
      .filter(([, state]) => state.Type === 'Task')
      .map(([name]) => name);
    expect(Object.keys(workflow.handlerByStateName).sort()).toEqual(tasks.sort());
    expect(workflow.handlerByStateName).toEqual({
      StartCampaign: 'start-campaign',
      Snapshot: 'snapshot',
      AssignReviewers: 'assign-reviewers',
      RequestReview: 'request-review',
      MarkUnresponsive: 'mark-unresponsive',
      CheckRevocations: 'check-revocations',
      RequestRevocationApproval: 'request-revocation-approval',
      RejectHeldRevocations: 'reject-held-revocations',
      ApplyRevocations: 'apply-revocations',
      VerifyRevocations: 'verify-revocations',
      Finalize: 'finalize',
    });
    expect([...workflow.waitForTaskTokenStates].sort()).toEqual([
      'RequestReview',
      'RequestRevocationApproval',
    ]);
    expect(
      HANDLERS.filter((spec) => !Object.values(workflow.handlerByStateName).includes(spec.name)),
    ).toEqual([expect.objectContaining({ name: 'slack-events' })]);
  });

  it('rewrites only human-scale timeouts; machine steps keep theirs', () => {
    for (const [name, state] of Object.entries(states())) {
      if (state.Type !== 'Task') continue;
      expect(state.TimeoutSeconds as number, name).toBeLessThanOrEqual(LOCAL_TIMEOUT_LIMIT_SECONDS);
    }
    expect(states().Snapshot!.TimeoutSeconds).toBe(15 * 60 + 30);
    // The shortest window the config accepts (1 hour) must still count as human-scale.
    expect(LOCAL_TIMEOUT_LIMIT_SECONDS).toBeLessThan(3600);
  });

  it('honours reviewWindowSeconds, serves later calls from the cache and never leaks one caller’s changes', () => {
    workflow.definition.States.StartCampaign = { Type: 'Pass', End: true };
    const started = performance.now();
    const again = synthesizeForLocalHost(config, { reviewWindowSeconds: 5 });
    expect(performance.now() - started).toBeLessThan(500);
    expect(again.rewrittenTimeouts).toEqual(
      expect.arrayContaining([
        { state: 'RequestReview', fromSeconds: config.review.windowHours * 3600, toSeconds: 5 },
        {
          state: 'RequestRevocationApproval',
          fromSeconds: config.revocationGuard.approvalWindowHours * 3600,
          toSeconds: 5,
        },
      ]),
    );
    expect(again.rewrittenTimeouts).toHaveLength(2);
    expect((again.definition.States.StartCampaign as unknown as State).Type).toBe('Task');
    expect(() => synthesizeForLocalHost(config, { reviewWindowSeconds: 0 })).toThrow(RangeError);
    workflow = synthesizeForLocalHost(config);
  });

  it('describes the table for CreateTableCommand', () => {
    expect(workflow.table).toEqual({
      billingMode: 'PAY_PER_REQUEST',
      keySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      attributeDefinitions: ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk'].map((name) => ({
        AttributeName: name,
        AttributeType: 'S',
      })),
      globalSecondaryIndexes: ['gsi1', 'gsi2'].map((index) => ({
        IndexName: index,
        KeySchema: [
          { AttributeName: `${index}pk`, KeyType: 'HASH' },
          { AttributeName: `${index}sk`, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    });
  });
});

describe('the synthesized definition on aws-local-stepfunctions', () => {
  type Handlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

  async function runLocally(options: { held: number; approval: 'answers' | 'silent' }) {
    const local = synthesizeForLocalHost(config, { reviewWindowSeconds: 1 });
    const calls: Array<{ state: string; payload: Record<string, Json> }> = [];
    let snapshotAttempts = 0;
    const handlers: Handlers = {};
    for (const [state, handler] of Object.entries(local.handlerByStateName)) {
      handlers[state] = async (input) => {
        // Every Lambda Task is lambda:invoke, so the runner hands over `{ FunctionName, Payload }`.
        const { Payload } = input as { Payload: Record<string, Json> };
        calls.push({ state, payload: Payload });
        if (local.waitForTaskTokenStates.includes(state)) {
          if (handler === 'request-revocation-approval') {
            return options.approval === 'silent' ? new Promise(() => {}) : { decision: 'approved' };
          }
          // alice answers (SendTaskSuccess); dave never does, so the window closes on him.
          if (Payload.reviewer === 'dave') return new Promise(() => {});
          return { decided: 3 };
        }
        if (handler === 'snapshot' && ++snapshotAttempts === 1) {
          throw Object.assign(new Error('GitHub answered 502'), { name: 'TransientError' });
        }
        const campaignId = (Payload.campaignId as string | undefined) ?? 'campaign-1';
        const output: Record<string, Json> = { campaignId, count: calls.length };
        if (handler === 'assign-reviewers') output.reviewers = ['alice', 'dave'];
        if (handler === 'check-revocations') output.held = options.held;
        return { Payload: output };
      };
    }
    let tokens = 0;
    const run = new StateMachine(local.definition).run(
      { trigger: 'cli', requestedBy: 'carol' },
      {
        overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: { Snapshot: 0 } },
        context: {
          Execution: { Name: 'local-run-1' },
          get Task() {
            tokens += 1;
            return { Token: `token-${tokens}` };
          },
        },
      },
    );
    const output = (await run.result) as Record<string, unknown>;
    return { output, calls };
  }

  it('runs a campaign: retries a TransientError, records a silent reviewer as unresponsive', async () => {
    const { output, calls } = await runLocally({ held: 0, approval: 'answers' });
    expect(output.campaignId).toBe('campaign-1');
    expect(calls[0]).toEqual({
      state: 'StartCampaign',
      payload: { trigger: 'cli', requestedBy: 'carol', executionName: 'local-run-1' },
    });
    expect(calls.filter((call) => call.state === 'Snapshot')).toHaveLength(2);
    const requests = calls.filter((call) => call.state === 'RequestReview').map((call) => call.payload);
    expect(requests.map((payload) => payload.reviewer).sort()).toEqual(['alice', 'dave']);
    expect(new Set(requests.map((payload) => payload.taskToken)).size).toBe(2);
    expect(calls.filter((call) => call.state === 'MarkUnresponsive').map((call) => call.payload)).toEqual([
      {
        campaignId: 'campaign-1',
        reviewer: 'dave',
        error: { Error: 'States.Timeout', Cause: expect.any(String) },
      },
    ]);
    expect(calls.slice(-4).map((call) => call.state)).toEqual([
      'CheckRevocations',
      'ApplyRevocations',
      'VerifyRevocations',
      'Finalize',
    ]);
  });

  it('waits for the security team when revocations are held, then applies', async () => {
    const { calls } = await runLocally({ held: 2, approval: 'answers' });
    const after = calls.slice(calls.findIndex((call) => call.state === 'CheckRevocations'));
    expect(after.map((call) => call.state)).toEqual([
      'CheckRevocations',
      'RequestRevocationApproval',
      'ApplyRevocations',
      'VerifyRevocations',
      'Finalize',
    ]);
    expect(after[1]!.payload).toEqual({ campaignId: 'campaign-1', taskToken: expect.any(String) });
  });

  it('rejects the held revocations when nobody answers within the approval window, and still applies', async () => {
    const { calls } = await runLocally({ held: 2, approval: 'silent' });
    const after = calls.slice(calls.findIndex((call) => call.state === 'CheckRevocations'));
    expect(after.map((call) => call.state)).toEqual([
      'CheckRevocations',
      'RequestRevocationApproval',
      'RejectHeldRevocations',
      'ApplyRevocations',
      'VerifyRevocations',
      'Finalize',
    ]);
    expect(after[2]!.payload).toEqual({
      campaignId: 'campaign-1',
      error: { Error: 'States.Timeout', Cause: expect.any(String) },
    });
  });
});
