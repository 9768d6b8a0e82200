import { type RunOptions, StateMachine } from 'aws-local-stepfunctions';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAIL_FAST_ERROR_NAMES } from '../../functions/core/errors';
import { HANDLERS, isWorkflowHandler } from '../../lib/aws/handlers';
import {
  DEFAULT_LOCAL_REVIEW_WINDOW_SECONDS,
  LOCAL_TIMEOUT_LIMIT_SECONDS,
  type LocalWorkflow,
  synthesizeForLocalHost,
} from '../../lib/local/synthesized-workflow';
import {
  FAILURE_RECORDERS,
  failedStateName,
  LAMBDA_TIMEOUT_ERRORS,
  RETRYABLE_ERRORS,
  REVIEWER_CATCHING_STATES,
  STATE_NAMES,
  TOP_LEVEL_CATCHING_STATES,
} from '../../lib/workflow/definition';
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

/** The failure-path Pass of every state that catches, plus the named states. */
function expectedStateNames(): string[] {
  return [
    ...Object.values(STATE_NAMES),
    ...[...TOP_LEVEL_CATCHING_STATES, ...REVIEWER_CATCHING_STATES].map(failedStateName),
  ].sort();
}

describe('the synthesized review workflow', () => {
  it('has exactly the documented states, top level in order, the reviewer states in the Map', () => {
    expect(Object.keys(states()).sort()).toEqual(expectedStateNames());
    const order: string[] = [];
    let name: string | undefined = workflow.definition.StartAt;
    while (name) {
      order.push(name);
      const state = workflow.definition.States[name] as unknown as State;
      // Choices go on by Default: nothing held, the sharded step complete.
      name = (state.Next ?? state.Default) as string | undefined;
    }
    expect(order).toEqual([
      'StartCampaign',
      'Snapshot',
      'IsSnapshotComplete',
      'AssignReviewers',
      'ReviewEachReviewer',
      'CheckRevocations',
      'WasCampaignCancelled',
      'AnyRevocationHeld',
      'ApplyRevocations',
      'WasCancelledBeforeRevoking',
      'AreRevocationsApplied',
      'VerifyRevocations',
      'AreRevocationsVerified',
      'Finalize',
    ]);
    const map = states().ReviewEachReviewer as { ItemProcessor: { States: Record<string, State> } };
    expect(Object.keys(map.ItemProcessor.States).sort()).toEqual(
      [
        'RequestReview',
        'AwaitReview',
        'ReviewCheckpoint',
        'IsReviewOver',
        'ReviewEnded',
        'MarkUnresponsive',
        'IsUnresponsiveMarked',
        'RecordReviewFailure',
        'RequestReviewFailed',
        'AwaitReviewFailed',
        'ReviewCheckpointFailed',
        'MarkUnresponsiveFailed',
      ].sort(),
    );
  });

  it('is JSONPath only (the local runner ignores JSONata)', () => {
    const text = JSON.stringify(workflow.definition);
    expect(text).not.toMatch(/JSONata/i);
    expect(text).not.toContain('{%');
    for (const state of Object.values(states())) expect(state.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
  });

  it('requests each review with a plain Lambda step whose only output is the first wait', () => {
    const request = states().RequestReview!;
    expect(request.Resource).toMatch(/^arn:[^:]+:states:::lambda:invoke$/);
    expect(request.Parameters).toMatchObject({
      Payload: { 'campaignId.$': '$.campaignId', 'reviewer.$': '$.reviewer' },
    });
    expect(Object.keys((request.Parameters as { Payload: State }).Payload).sort()).toEqual([
      'campaignId.$',
      'reviewer.$',
    ]);
    // The child keeps its ids and the parent's execution; only the wait is added.
    expect(request.ResultSelector).toEqual({ 'waitSeconds.$': '$.Payload.waitSeconds' });
    expect(request.ResultPath).toBe('$.Payload');
    expect(request.Next).toBe('AwaitReview');
    // A Lambda step's timeout: the function's own plus 30 s, not the review window.
    expect(request.TimeoutSeconds).toBe(60);
    expect(request.Catch).toEqual([
      { ErrorEquals: [...FAIL_FAST_ERROR_NAMES], ResultPath: '$.error', Next: 'RequestReviewFailed' },
      { ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'MarkUnresponsive' },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RequestReviewFailed' },
    ]);
    expect(FAIL_FAST_ERROR_NAMES).toEqual(expect.arrayContaining(['AuthenticationError', 'PermissionError']));
  });

  it('waits one stretch of the calendar at a time: the timeout is the checkpoint’s, read from the state', () => {
    const wait = states().AwaitReview!;
    expect(wait.Resource).toMatch(/^arn:[^:]+:states:::lambda:invoke\.waitForTaskToken$/);
    expect(wait.HeartbeatSeconds).toBeUndefined();
    expect(wait.TimeoutSeconds).toBeUndefined();
    expect(wait.TimeoutSecondsPath).toBe('$.Payload.waitSeconds');
    expect(wait.Parameters).toMatchObject({
      Payload: {
        'campaignId.$': '$.campaignId',
        'reviewer.$': '$.reviewer',
        // The embedded host times the token by it, as the runner times the state.
        'waitSeconds.$': '$.Payload.waitSeconds',
        'taskToken.$': '$$.Task.Token',
      },
    });
    expect(wait.ResultPath).toBeNull();
    expect(wait.OutputPath).toBe('$.reviewer');
    expect(wait.End).toBe(true);
    expect(wait.Catch).toEqual([
      { ErrorEquals: [...FAIL_FAST_ERROR_NAMES], ResultPath: '$.error', Next: 'AwaitReviewFailed' },
      // A task closed while no token was stored: the child ends as if resumed.
      { ErrorEquals: ['ReviewTaskClosedError'], ResultPath: null, Next: 'ReviewEnded' },
      { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'ReviewCheckpoint' },
      { ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'MarkUnresponsive' },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'AwaitReviewFailed' },
    ]);
    // Nothing rewrites it: the host shrinks the calendar instead (reviewHourSeconds).
    expect(workflow.pathTimeouts).toEqual([{ state: 'AwaitReview', path: '$.Payload.waitSeconds' }]);
    expect(workflow.rewrittenTimeouts.map((rewrite) => rewrite.state)).toEqual(['RequestRevocationApproval']);
  });

  it('at each checkpoint goes back to waiting, on to MarkUnresponsive, or ends a closed task', () => {
    const checkpoint = states().ReviewCheckpoint!;
    expect(checkpoint.Resource).toMatch(/^arn:[^:]+:states:::lambda:invoke$/);
    expect(checkpoint.Parameters).toMatchObject({
      FunctionName: expect.stringContaining(':function:review-checkpoint'),
      Payload: { 'campaignId.$': '$.campaignId', 'reviewer.$': '$.reviewer' },
    });
    expect(checkpoint.ResultSelector).toEqual({
      'next.$': '$.Payload.next',
      'waitSeconds.$': '$.Payload.waitSeconds',
    });
    // `$.error` (the timeout) stays: the last one is what MarkUnresponsive records.
    expect(checkpoint.ResultPath).toBe('$.Payload');
    expect(checkpoint.Next).toBe('IsReviewOver');
    expect(checkpoint.Catch).toEqual([
      { ErrorEquals: [...FAIL_FAST_ERROR_NAMES], ResultPath: '$.error', Next: 'ReviewCheckpointFailed' },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'ReviewCheckpointFailed' },
    ]);
    expect(states().IsReviewOver).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.Payload.next', StringEquals: 'close', Next: 'MarkUnresponsive' },
        { Variable: '$.Payload.next', StringEquals: 'done', Next: 'ReviewEnded' },
      ],
      Default: 'AwaitReview',
    });
    expect(states().ReviewEnded).toEqual({ Type: 'Pass', OutputPath: '$.reviewer', End: true });
    const mark = states().MarkUnresponsive!;
    expect(mark.Parameters).toMatchObject({
      Payload: { 'campaignId.$': '$.campaignId', 'reviewer.$': '$.reviewer', 'error.$': '$.error' },
    });
    expect(mark.ResultSelector).toEqual({ 'result.$': '$.Payload' });
    expect(mark.ResultPath).toBe('$.unresponsive');
    expect(mark.Next).toBe('IsUnresponsiveMarked');
    expect(states().IsUnresponsiveMarked).toEqual({
      Type: 'Choice',
      Choices: [
        {
          And: [
            { Variable: '$.unresponsive.result.complete', IsPresent: true },
            { Variable: '$.unresponsive.result.complete', BooleanEquals: false },
          ],
          Next: 'MarkUnresponsive',
        },
      ],
      Default: 'ReviewEnded',
    });
  });

  it('goes straight to Finalize when CheckRevocations or ApplyRevocations says the campaign was cancelled', () => {
    for (const [step, choice, otherwise] of [
      ['CheckRevocations', 'WasCampaignCancelled', 'AnyRevocationHeld'],
      ['ApplyRevocations', 'WasCancelledBeforeRevoking', 'AreRevocationsApplied'],
    ] as const) {
      expect(states()[step]!.Next, step).toBe(choice);
      expect(states()[choice], choice).toEqual({
        Type: 'Choice',
        Choices: [
          {
            And: [
              { Variable: '$.cancelled', IsPresent: true },
              { Variable: '$.cancelled', BooleanEquals: true },
            ],
            Next: 'Finalize',
          },
        ],
        Default: otherwise,
      });
    }
  });

  it('checks the revocations after the reviews and asks the security team only when something is held', () => {
    const check = states().CheckRevocations!;
    expect(check.Parameters).toMatchObject({ Payload: { 'campaignId.$': '$.campaignId' } });
    expect(check.Next).toBe('WasCampaignCancelled');
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
        ErrorEquals: [...FAIL_FAST_ERROR_NAMES],
        ResultPath: '$.error',
        Next: 'RequestRevocationApprovalFailed',
      },
      {
        ErrorEquals: ['States.Timeout', 'States.TaskFailed'],
        // Not `$.error`: a later failure of RejectHeldRevocations puts its own error there, and a
        // resumed RejectHeldRevocations must still read why the approval ended.
        ResultPath: '$.approvalError',
        Next: 'RejectHeldRevocations',
      },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RequestRevocationApprovalFailed' },
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
      Payload: { 'campaignId.$': '$.campaignId', 'error.$': '$.approvalError' },
    });
    expect(reject.ResultPath).toBeNull();
    expect(reject.Next).toBe('ApplyRevocations');
  });

  it('asks every reviewer at once in a Distributed Map of STANDARD children, passing only ids', () => {
    const map = states().ReviewEachReviewer!;
    expect(map).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.reviewers',
      // The most a Distributed Map runs at once on AWS: no cap below the number of reviewers.
      MaxConcurrency: 10_000,
      ItemSelector: {
        'campaignId.$': '$.campaignId',
        'reviewer.$': '$$.Map.Item.Value',
        // The parent's execution (name, RedriveCount), for the child's failure recorder.
        'execution.$': '$$.Execution',
      },
      ResultPath: null,
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
    });
    // A child's output is the reviewer's login: the Map's result is no larger than its input.
    expect(states().AwaitReview!.OutputPath).toBe('$.reviewer');
    expect(states().ReviewEnded!.OutputPath).toBe('$.reviewer');
  });

  it('loops a sharded step while it reports complete: false (a missing complete means done)', () => {
    for (const [choice, step, next] of [
      ['IsSnapshotComplete', 'Snapshot', 'AssignReviewers'],
      ['AreRevocationsApplied', 'ApplyRevocations', 'VerifyRevocations'],
      ['AreRevocationsVerified', 'VerifyRevocations', 'Finalize'],
    ] as const) {
      // ApplyRevocations first asks whether a cancel stopped it (see above).
      if (step !== 'ApplyRevocations') expect(states()[step]!.Next, step).toBe(choice);
      expect(states()[choice], choice).toEqual({
        Type: 'Choice',
        Choices: [
          {
            And: [
              { Variable: '$.complete', IsPresent: true },
              { Variable: '$.complete', BooleanEquals: false },
            ],
            Next: step,
          },
        ],
        Default: next,
      });
    }
  });

  it('retries transient faults with backoff, a Lambda timeout once, and never a person’s window', () => {
    const waiting = new Set(workflow.waitForTaskTokenStates);
    for (const [name, state] of Object.entries(states())) {
      if (state.Type !== 'Task') continue;
      const retry = state.Retry as Array<{
        ErrorEquals: string[];
        BackoffRate?: number;
        MaxAttempts: number;
      }>;
      expect(retry[0]!.ErrorEquals, name).toEqual([...RETRYABLE_ERRORS]);
      expect(retry[0]!.BackoffRate, name).toBeGreaterThan(1);
      expect(retry[0]!.MaxAttempts, name).toBeGreaterThan(1);
      if (waiting.has(name)) {
        expect(retry, name).toHaveLength(1);
      } else {
        expect(retry[1], name).toEqual({
          ErrorEquals: [...LAMBDA_TIMEOUT_ERRORS],
          IntervalSeconds: 5,
          MaxAttempts: 1,
        });
      }
    }
    expect(RETRYABLE_ERRORS).toEqual(expect.arrayContaining(['TransientError', 'Lambda.ServiceException']));
    expect(RETRYABLE_ERRORS).not.toContain('States.Timeout');
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

/** What an error named `error` does at `state`: the catcher it meets, if any (ASL matching rules). */
function catcherFor(state: State, error: string): { Next: string; ResultPath?: string } | undefined {
  const catchers = (state.Catch ?? []) as Array<{ ErrorEquals: string[]; Next: string; ResultPath?: string }>;
  return catchers.find((catcher) => matchesError(catcher.ErrorEquals, error));
}

function matchesError(errorEquals: readonly string[], error: string): boolean {
  if (errorEquals.includes(error) || errorEquals.includes('States.ALL')) return true;
  // States.TaskFailed stands for every error a task reports except the state's own timeout.
  return errorEquals.includes('States.TaskFailed') && error !== 'States.Timeout';
}

const TOP_LEVEL = new Set<string>(TOP_LEVEL_CATCHING_STATES);

describe('the failure path', () => {
  it('every Task and Map state but the recorders ends its Catch list with States.ALL → its <State>Failed Pass → a recorder', () => {
    const all = states();
    const catching = Object.entries(all).filter(
      ([name, state]) =>
        (state.Type === 'Task' || state.Type === 'Map') &&
        !(FAILURE_RECORDERS as readonly string[]).includes(name),
    );
    expect(catching.map(([name]) => name).sort()).toEqual(
      [...TOP_LEVEL_CATCHING_STATES, ...REVIEWER_CATCHING_STATES].sort(),
    );
    for (const [name, state] of catching) {
      const catchers = state.Catch as Array<{ ErrorEquals: string[]; Next: string; ResultPath: string }>;
      expect(catchers.at(-1), name).toEqual({
        ErrorEquals: ['States.ALL'],
        ResultPath: '$.error',
        Next: failedStateName(name),
      });
      const pass = all[failedStateName(name)]!;
      expect(pass.Type, name).toBe('Pass');
      expect(pass.ResultPath, name).toBe('$.failure');
      expect((pass.Parameters as State).state, name).toBe(name);
      expect(pass.Next, name).toBe(TOP_LEVEL.has(name) ? 'RecordCampaignFailure' : 'RecordReviewFailure');
      if (name !== 'StartCampaign') {
        expect(pass.Parameters, name).toMatchObject({ 'campaignId.$': '$.campaignId' });
      }
    }
    // StartCampaign has no campaign yet: the recorder looks it up by execution name.
    expect(all.StartCampaignFailed!.Parameters).toEqual({ state: 'StartCampaign' });
    expect(all.RequestReviewFailed!.Parameters).toEqual({
      state: 'RequestReview',
      'campaignId.$': '$.campaignId',
      'reviewer.$': '$.reviewer',
    });
  });

  it('records with the finalize Lambda, ends FAILED at the recorder (no Catch), and resumes where it failed', () => {
    const all = states();
    const record = all.RecordCampaignFailure!;
    expect(record.Catch).toBeUndefined();
    expect(record.Parameters).toMatchObject({
      FunctionName: expect.stringContaining(':function:finalize'),
      Payload: {
        'failure.$': '$.failure',
        'error.$': '$.error',
        'execution.$': '$$.Execution',
      },
    });
    // The state's input is kept (a resumed state gets what it had), only `resumed` is added.
    expect(record.ResultPath).toBe('$.resumed');
    expect(record.Next).toBe('ResumeAtFailedState');
    expect(all.ResumeAtFailedState).toEqual({
      Type: 'Choice',
      Choices: TOP_LEVEL_CATCHING_STATES.map((name) => ({
        Variable: '$.failure.state',
        StringEquals: name,
        Next: name,
      })),
      Default: 'CannotResume',
    });
    expect(all.CannotResume).toMatchObject({ Type: 'Fail', Error: 'CannotResume' });
    const child = all.RecordReviewFailure!;
    expect(child.Catch).toBeUndefined();
    expect(child.End).toBe(true);
    expect(child.Parameters).toMatchObject({
      FunctionName: expect.stringContaining(':function:finalize'),
      Payload: {
        'failure.$': '$.failure',
        'error.$': '$.error',
        'execution.$': '$.execution',
        resumable: false,
      },
    });
  });

  const knownErrors = [
    ...FAIL_FAST_ERROR_NAMES,
    ...RETRYABLE_ERRORS,
    ...LAMBDA_TIMEOUT_ERRORS,
    'States.TaskFailed',
    'States.Runtime',
    'States.DataLimitExceeded',
    'States.ExceedToleratedFailureThreshold',
    'ConnectorError',
    'ReviewTaskClosedError',
    'Error',
    'TypeError',
  ];
  const errorName = fc.oneof(fc.constantFrom(...knownErrors), fc.stringMatching(/^[A-Za-z][A-Za-z.]{0,24}$/));
  const catchingState = fc.constantFrom(...TOP_LEVEL_CATCHING_STATES, ...REVIEWER_CATCHING_STATES);

  it('no error is silent: each is caught, by a person-handling state or the failure path, and only transient ones are retried', () => {
    fc.assert(
      fc.property(catchingState, errorName, (name, error) => {
        const all = states();
        const state = all[name]!;
        const catcher = catcherFor(state, error);
        expect(catcher).toBeDefined();
        const failFast = FAIL_FAST_ERROR_NAMES.includes(error);
        if (catcher!.Next === 'MarkUnresponsive') expect(['RequestReview', 'AwaitReview']).toContain(name);
        else if (catcher!.Next === 'ReviewCheckpoint')
          expect([name, error]).toEqual(['AwaitReview', 'States.Timeout']);
        else if (catcher!.Next === 'ReviewEnded')
          expect([name, error]).toEqual(['AwaitReview', 'ReviewTaskClosedError']);
        else if (catcher!.Next === 'RejectHeldRevocations') expect(name).toBe('RequestRevocationApproval');
        else expect(catcher!.Next).toBe(failedStateName(name));
        // Authentication and permission errors reach the failure path, and without retries.
        if (failFast) expect(catcher!.Next).toBe(failedStateName(name));
        const retriers = (state.Retry ?? []) as Array<{ ErrorEquals: string[] }>;
        const retrier = retriers.find((candidate) => matchesError(candidate.ErrorEquals, error));
        if (failFast) expect(retrier).toBeUndefined();
        if (retrier) {
          expect([...RETRYABLE_ERRORS, ...LAMBDA_TIMEOUT_ERRORS]).toContain(error);
          // A person's window closing is never retried.
          if (workflow.waitForTaskTokenStates.includes(name)) expect(error).not.toBe('States.Timeout');
        }
      }),
      { numRuns: 500 },
    );
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
      AwaitReview: 'await-review',
      ReviewCheckpoint: 'review-checkpoint',
      MarkUnresponsive: 'mark-unresponsive',
      CheckRevocations: 'check-revocations',
      RequestRevocationApproval: 'request-revocation-approval',
      RejectHeldRevocations: 'reject-held-revocations',
      ApplyRevocations: 'apply-revocations',
      VerifyRevocations: 'verify-revocations',
      Finalize: 'finalize',
      // The failure path reuses the finalize Lambda (its failure mode).
      RecordCampaignFailure: 'finalize',
      RecordReviewFailure: 'finalize',
    });
    expect([...workflow.waitForTaskTokenStates].sort()).toEqual(['AwaitReview', 'RequestRevocationApproval']);
    const unbound = HANDLERS.filter(
      (spec) => !Object.values(workflow.handlerByStateName).includes(spec.name),
    );
    expect(unbound.map((spec) => spec.name)).toContain('slack-events');
    for (const spec of unbound) expect(isWorkflowHandler(spec.name), spec.name).toBe(false);
  });

  it('rewrites only human-scale timeouts; machine steps keep theirs', () => {
    for (const [name, state] of Object.entries(states())) {
      if (state.Type !== 'Task' || name === 'AwaitReview') continue;
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
    expect(again.rewrittenTimeouts).toEqual([
      {
        state: 'RequestRevocationApproval',
        fromSeconds: config.revocationGuard.approvalWindowHours * 3600,
        toSeconds: 5,
      },
    ]);
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
      attributeDefinitions: ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', 'gsi3pk', 'gsi3sk'].map(
        (name) => ({
          AttributeName: name,
          AttributeType: 'S',
        }),
      ),
      globalSecondaryIndexes: ['gsi1', 'gsi2', 'gsi3'].map((index) => ({
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

  interface LocalRunOptions {
    held: number;
    approval: 'answers' | 'silent';
    /** How many times each sharded step answers `complete: false` before it is done. */
    incomplete?: Partial<Record<'Snapshot' | 'ApplyRevocations' | 'VerifyRevocations', number>>;
    /** A state whose handler throws this error name (every time). */
    failing?: { state: string; error: string };
    /** How many times MarkUnresponsive answers `complete: false` before it is done. */
    unresponsiveShards?: number;
    /** AwaitReview finds alice's task already closed (ReviewTaskClosedError) instead of waiting. */
    aliceClosed?: boolean;
    /** The step that answers `cancelled: true`. */
    cancelledAt?: 'CheckRevocations' | 'ApplyRevocations';
  }

  async function runLocally(options: LocalRunOptions) {
    const local = synthesizeForLocalHost(config, { reviewWindowSeconds: 1 });
    const calls: Array<{ state: string; payload: Record<string, Json> }> = [];
    let snapshotAttempts = 0;
    const shardsAnswered = new Map<string, number>();
    const checkpoints = new Map<string, number>();
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
          if (options.aliceClosed) {
            throw Object.assign(new Error('the review task of alice is already completed'), {
              name: 'ReviewTaskClosedError',
            });
          }
          return { decided: 3 };
        }
        if (handler === 'request-review') {
          const output: Record<string, Json> = { campaignId: Payload.campaignId ?? '', waitSeconds: 1 };
          output.reviewer = Payload.reviewer ?? '';
          return { Payload: output };
        }
        if (handler === 'review-checkpoint') {
          // dave's first checkpoint is a reminder (wait again), the second the window's end.
          const seen = (checkpoints.get(String(Payload.reviewer)) ?? 0) + 1;
          checkpoints.set(String(Payload.reviewer), seen);
          return {
            Payload: seen === 1 ? { next: 'wait', waitSeconds: 1 } : { next: 'close', waitSeconds: 0 },
          };
        }
        if (handler === 'mark-unresponsive') {
          const answered = (shardsAnswered.get(state) ?? 0) + 1;
          shardsAnswered.set(state, answered);
          const more = answered <= (options.unresponsiveShards ?? 0);
          const output: Record<string, Json> = { campaignId: Payload.campaignId ?? '' };
          if (more) output.complete = false;
          return { Payload: output };
        }
        if (handler === 'snapshot' && ++snapshotAttempts === 1) {
          throw Object.assign(new Error('GitHub answered 502'), { name: 'TransientError' });
        }
        if (options.failing?.state === state) {
          throw Object.assign(new Error(`${state} was refused`), { name: options.failing.error });
        }
        if (FAILURE_RECORDERS.includes(state as (typeof FAILURE_RECORDERS)[number])) {
          throw Object.assign(new Error('recorded'), { name: 'CampaignFailedError' });
        }
        const campaignId = (Payload.campaignId as string | undefined) ?? 'campaign-1';
        const output: Record<string, Json> = { campaignId, count: calls.length };
        const shardsLeft = options.incomplete?.[state as 'Snapshot'];
        if (shardsLeft !== undefined) {
          const answered = (shardsAnswered.get(state) ?? 0) + 1;
          shardsAnswered.set(state, answered);
          const done = answered > shardsLeft;
          // Done is said both ways a step may say it: complete: true, or no `complete` at all.
          if (!done) output.complete = false;
          else if (state === 'ApplyRevocations') output.complete = true;
        }
        if (handler === 'assign-reviewers') output.reviewers = ['alice', 'dave'];
        if (handler === 'check-revocations') output.held = options.held;
        if (options.cancelledAt === state) output.cancelled = true;
        return { Payload: output };
      };
    }
    let tokens = 0;
    const run = new StateMachine(local.definition).run(
      { trigger: 'cli', requestedBy: 'carol' },
      {
        overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: { Snapshot: 0 } },
        context: {
          // No RedriveCount, as the embedded host: nothing may depend on it but the failure path.
          Execution: { Name: 'local-run-1' },
          get Task() {
            tokens += 1;
            return { Token: `token-${tokens}` };
          },
        },
      },
    );
    try {
      const output = (await run.result) as Record<string, unknown>;
      return { output, calls, failure: undefined };
    } catch (failure) {
      return { output: undefined, calls, failure: failure as Error };
    }
  }

  it('calls a sharded step again while it answers complete: false', async () => {
    const { calls, output } = await runLocally({
      held: 0,
      approval: 'answers',
      incomplete: { Snapshot: 2, ApplyRevocations: 2, VerifyRevocations: 2 },
    });
    expect(output?.campaignId).toBe('campaign-1');
    // Snapshot: one TransientError retry, then three shards.
    expect(calls.filter((call) => call.state === 'Snapshot')).toHaveLength(4);
    expect(calls.filter((call) => call.state === 'ApplyRevocations')).toHaveLength(3);
    expect(calls.filter((call) => call.state === 'VerifyRevocations')).toHaveLength(3);
    for (const call of calls.filter((item) =>
      ['ApplyRevocations', 'VerifyRevocations'].includes(item.state),
    )) {
      expect(call.payload).toEqual({ campaignId: 'campaign-1' });
    }
    expect(calls.at(-1)!.state).toBe('Finalize');
  });

  it('takes an authentication error straight to the failure path: no retry, the execution fails at the recorder', async () => {
    const { calls, failure } = await runLocally({
      held: 0,
      approval: 'answers',
      failing: { state: 'ApplyRevocations', error: 'AuthenticationError' },
    });
    expect(failure).toBeDefined();
    expect(calls.filter((call) => call.state === 'ApplyRevocations')).toHaveLength(1);
    expect(calls.at(-1)).toEqual({
      state: 'RecordCampaignFailure',
      payload: {
        failure: { state: 'ApplyRevocations', campaignId: 'campaign-1' },
        error: { Error: 'AuthenticationError', Cause: 'ApplyRevocations was refused' },
        // The runner adds Input and StartTime to the context's Execution, as AWS does.
        execution: expect.objectContaining({ Name: 'local-run-1' }),
      },
    });
    expect(calls.some((call) => call.state === 'VerifyRevocations' || call.state === 'Finalize')).toBe(false);
  });

  it('runs a campaign: retries a TransientError, reminds a silent reviewer at a checkpoint, then records him unresponsive', async () => {
    const { output, calls } = await runLocally({ held: 0, approval: 'answers' });
    expect(output?.campaignId).toBe('campaign-1');
    expect(calls[0]).toEqual({
      state: 'StartCampaign',
      payload: { trigger: 'cli', requestedBy: 'carol', executionName: 'local-run-1' },
    });
    expect(calls.filter((call) => call.state === 'Snapshot')).toHaveLength(2);
    const requests = calls.filter((call) => call.state === 'RequestReview').map((call) => call.payload);
    expect(requests.map((payload) => payload.reviewer).sort()).toEqual(['alice', 'dave']);
    for (const payload of requests) expect(Object.keys(payload).sort()).toEqual(['campaignId', 'reviewer']);
    const waits = calls.filter((call) => call.state === 'AwaitReview').map((call) => call.payload);
    // alice waits once; dave twice (before and after his reminder). Each child has a token of its
    // own; the runner reads $$.Task.Token once per child execution, so dave's second wait reuses
    // his (lib/local/task-tokens.ts lets a timed-out token wait again; AWS issues a new one).
    expect(waits.map((payload) => payload.reviewer).sort()).toEqual(['alice', 'dave', 'dave']);
    expect(new Set(waits.map((payload) => payload.taskToken)).size).toBe(2);
    expect(waits.map((payload) => payload.waitSeconds)).toEqual([1, 1, 1]);
    expect(calls.filter((call) => call.state === 'ReviewCheckpoint').map((call) => call.payload)).toEqual([
      { campaignId: 'campaign-1', reviewer: 'dave' },
      { campaignId: 'campaign-1', reviewer: 'dave' },
    ]);
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

  it('ends a child whose task closed between two waits, and runs MarkUnresponsive again until complete', async () => {
    const { output, calls } = await runLocally({
      held: 0,
      approval: 'answers',
      aliceClosed: true,
      unresponsiveShards: 2,
    });
    expect(output?.campaignId).toBe('campaign-1');
    // alice's ReviewTaskClosedError is her child's end: no checkpoint, no unresponsive mark, no failure.
    expect(calls.some((call) => call.state === 'ReviewCheckpoint' && call.payload.reviewer === 'alice')).toBe(
      false,
    );
    expect(calls.some((call) => call.state === 'RecordReviewFailure')).toBe(false);
    const marks = calls.filter((call) => call.state === 'MarkUnresponsive').map((call) => call.payload);
    expect(marks).toHaveLength(3);
    for (const payload of marks) {
      expect(payload).toEqual({ campaignId: 'campaign-1', reviewer: 'dave', error: expect.any(Object) });
    }
    expect(calls.at(-1)!.state).toBe('Finalize');
  });

  it('finalizes a campaign CheckRevocations reports cancelled, applying nothing', async () => {
    const { output, calls } = await runLocally({
      held: 2,
      approval: 'answers',
      cancelledAt: 'CheckRevocations',
    });
    expect(output?.campaignId).toBe('campaign-1');
    const after = calls.slice(calls.findIndex((call) => call.state === 'CheckRevocations'));
    expect(after.map((call) => call.state)).toEqual(['CheckRevocations', 'Finalize']);
  });

  it('finalizes a campaign ApplyRevocations reports cancelled, verifying nothing', async () => {
    const { calls } = await runLocally({ held: 2, approval: 'answers', cancelledAt: 'ApplyRevocations' });
    const after = calls.slice(calls.findIndex((call) => call.state === 'CheckRevocations'));
    expect(after.map((call) => call.state)).toEqual([
      'CheckRevocations',
      'RequestRevocationApproval',
      'ApplyRevocations',
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
