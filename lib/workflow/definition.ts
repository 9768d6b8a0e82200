import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  Choice,
  Condition,
  DistributedMap,
  Fail,
  type IChainable,
  IntegrationPattern,
  JitterType,
  JsonPath,
  Pass,
  StateMachineType,
  TaskInput,
  Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { FAIL_FAST_ERROR_NAMES, RETRYABLE_ERROR_NAMES } from '../../functions/core/errors';
import { REVIEWERS_ASKED_AT_ONCE } from '../../functions/core/limits';
import { handlerSpec, type WorkflowHandlerName } from '../aws/handlers';

/**
 * The one review workflow, run by Step Functions on AWS and by aws-local-stepfunctions on a laptop
 * (see lib/local/synthesized-workflow.ts). JSONPath only: the local runner ignores JSONata.
 *
 * Data contract (the state `$` carries ids and counts, never lists of grants: 256 KB cap):
 * - execution input: `{ trigger?, requestedBy? }` (the schedule sends both).
 * - every Lambda step is `arn:aws:states:::lambda:invoke` with Parameters `{ FunctionName, Payload }`,
 *   and its output is the handler's return value (OutputPath `$.Payload`). Each handler therefore
 *   returns `{ campaignId, ...counts }`; AssignReviewers also returns `reviewers: string[]` (logins).
 * - StartCampaign's payload is the execution input plus `executionName` (`$$.Execution.Name`);
 *   defaults for a missing trigger/requestedBy are the handler's to choose.
 * - Snapshot, ApplyRevocations and VerifyRevocations work in shards: while they return
 *   `complete: false` the same step runs again with `{ campaignId }` (a missing `complete` is true).
 * - ReviewEachReviewer (a Distributed Map, STANDARD children, as many at once as there are reviewers
 *   up to Step Functions' 10,000) runs one child per reviewer with `{ campaignId, reviewer,
 *   execution }`:
 *   RequestReview (a plain Lambda step) sends the DM (or the email for someone not in Slack) once
 *   and starts the reviewer's window; it returns `{ waitSeconds }`, kept at `$.Payload` (CHECKPOINT_PATH).
 *   AwaitReview (waitForTaskToken, TimeoutSecondsPath `$.Payload.waitSeconds`) stores the token
 *   and waits for SendTaskSuccess (the last decision, or a cancel); for a task already closed it
 *   throws ReviewTaskClosedError, caught to ReviewEnded (a Pass: the child ends as if resumed; not
 *   SendTaskSuccess on its own token, which would make the function and the state machine depend
 *   on each other). Its States.Timeout is a checkpoint of the reviewer's calendar, not the end of
 *   the window: ReviewCheckpoint (`{ campaignId, reviewer }`) sends reminder N, escalates, or says
 *   the window is over, and returns `{ next: 'wait' | 'close' | 'done', waitSeconds }` (at
 *   `$.Payload`); IsReviewOver goes back to AwaitReview (a new token, the same window), on to
 *   MarkUnresponsive, or to ReviewEnded (the task closed between two waits). MarkUnresponsive gets `{ campaignId, reviewer, error: { Error, Cause } }`:
 *   the window's last timeout, or a request that could not be delivered (States.TaskFailed after
 *   the retries of RequestReview or AwaitReview), so a delivery failure is not mistaken for silence;
 *   it runs again with the same input while it returns `complete: false` (an end-of-window policy
 *   over thousands of grants), then the child ends at ReviewEnded.
 *   An authentication or permission error fails the campaign instead (every reviewer would fail
 *   the same way). Each child's output is the reviewer's login, so the Map's result is no larger
 *   than its input; it is discarded anyway: decisions are evidence kept in the table, not in the
 *   execution state. One child makes 2 + 3 per checkpoint state transitions: reminders and
 *   escalation add a handful, far from the 25,000 events a STANDARD execution may have.
 * - CheckRevocations (the revocation guard) returns `{ campaignId, revocations, allowed, held,
 *   forbidden, cancelled? }`. A cancelled campaign (`cancelled: true`) goes straight to Finalize
 *   (nothing is revoked after a cancel), and so does ApplyRevocations' `cancelled: true` (a cancel
 *   that won while the approval was pending). Otherwise, when `held > 0`, RequestRevocationApproval runs with `{ campaignId, taskToken }`
 *   and waits for SendTaskSuccess from the security team's answer in Slack; the approval window's
 *   timeout or a failure goes to RejectHeldRevocations with `{ campaignId, error: { Error, Cause } }`
 *   (kept at `$.approvalError` in the state, so a later failure's `$.error` cannot replace it).
 *   Either way ApplyRevocations follows, and reads the verdict and the answer from the table.
 *
 * Failure path (no silent failure): every Task and Map state ends its Catch list with States.ALL →
 * `<State>Failed` (a Pass that puts `{ state, campaignId }` at `$.failure`; the error is at
 * `$.error`) → RecordCampaignFailure, the finalize Lambda with `{ failure, error, execution:
 * $$.Execution }` (its RedriveCount is the attempt). It records `campaign_failed` and sets the campaign
 * `failed`, then throws CampaignFailedError: the execution ends FAILED *at that state*. That is
 * deliberate, and why the recorder has no Catch: RedriveExecution re-runs the states that did not
 * exit, so a redrive re-runs RecordCampaignFailure, which (RedriveCount now higher) resumes the
 * campaign and returns; ResumeAtFailedState then goes back to `$.failure.state` with the input that
 * state had. A Fail state after the recorder would be what a redrive re-runs, and fail again.
 * Inside the Map, the same path ends at RecordReviewFailure (never resumes: a redriven parent
 * starts a new Map Run, whose steps are idempotent), and the Map's own Catch then ends the parent
 * at RecordCampaignFailure, which adds no second event for the same attempt.
 */
export const STATE_NAMES = {
  startCampaign: 'StartCampaign',
  snapshot: 'Snapshot',
  isSnapshotComplete: 'IsSnapshotComplete',
  assignReviewers: 'AssignReviewers',
  reviewEachReviewer: 'ReviewEachReviewer',
  requestReview: 'RequestReview',
  awaitReview: 'AwaitReview',
  reviewCheckpoint: 'ReviewCheckpoint',
  isReviewOver: 'IsReviewOver',
  reviewEnded: 'ReviewEnded',
  isUnresponsiveMarked: 'IsUnresponsiveMarked',
  markUnresponsive: 'MarkUnresponsive',
  recordReviewFailure: 'RecordReviewFailure',
  checkRevocations: 'CheckRevocations',
  wasCampaignCancelled: 'WasCampaignCancelled',
  anyRevocationHeld: 'AnyRevocationHeld',
  requestRevocationApproval: 'RequestRevocationApproval',
  rejectHeldRevocations: 'RejectHeldRevocations',
  applyRevocations: 'ApplyRevocations',
  wasCancelledBeforeRevoking: 'WasCancelledBeforeRevoking',
  areRevocationsApplied: 'AreRevocationsApplied',
  verifyRevocations: 'VerifyRevocations',
  areRevocationsVerified: 'AreRevocationsVerified',
  finalize: 'Finalize',
  recordCampaignFailure: 'RecordCampaignFailure',
  resumeAtFailedState: 'ResumeAtFailedState',
  cannotResume: 'CannotResume',
} as const;

/** The states whose failure leads to the failure path, each through its own `<State>Failed` Pass. */
export const TOP_LEVEL_CATCHING_STATES = [
  STATE_NAMES.startCampaign,
  STATE_NAMES.snapshot,
  STATE_NAMES.assignReviewers,
  STATE_NAMES.reviewEachReviewer,
  STATE_NAMES.checkRevocations,
  STATE_NAMES.requestRevocationApproval,
  STATE_NAMES.rejectHeldRevocations,
  STATE_NAMES.applyRevocations,
  STATE_NAMES.verifyRevocations,
  STATE_NAMES.finalize,
] as const;
export const REVIEWER_CATCHING_STATES = [
  STATE_NAMES.requestReview,
  STATE_NAMES.awaitReview,
  STATE_NAMES.reviewCheckpoint,
  STATE_NAMES.markUnresponsive,
] as const;

/**
 * Where a reviewer's child keeps what the last step said about the calendar: `{ waitSeconds }`
 * from RequestReview, `{ next, waitSeconds }` from ReviewCheckpoint. AwaitReview's timeout is read
 * from here (TimeoutSecondsPath), so a checkpoint decides how long the next wait is.
 *
 * Why `Payload`: Step Functions reads TimeoutSecondsPath from the state's input, while
 * aws-local-stepfunctions reads it from the task's Parameters (`{ FunctionName, Payload }`), where
 * AwaitReview's Payload carries the same `waitSeconds`. Under this name the one path finds the one
 * number on both (checked by test/lib/definition.test.ts on the local runner).
 */
export const CHECKPOINT_PATH = '$.Payload';

/** The failure path's recorders: no Catch, so the execution fails at them and a redrive re-runs them. */
export const FAILURE_RECORDERS = [
  STATE_NAMES.recordCampaignFailure,
  STATE_NAMES.recordReviewFailure,
] as const;

export function failedStateName(state: string): string {
  return `${state}Failed`;
}

/** The Step Functions / Lambda names of a Lambda that ran out of time (not an error it threw). */
export const LAMBDA_TIMEOUT_ERRORS = ['Sandbox.Timedout', 'States.Timeout'] as const;

/**
 * Errors worth another attempt soon: Lambda's own transient faults and the app's transient kinds
 * (throttled, unavailable, a call that timed out within its budget: functions/core/errors.ts).
 * States.* and Sandbox.* are not here: on a step waiting for a person, States.Timeout means the
 * window closed; on a plain Lambda step a timeout has its own, shorter Retry (LAMBDA_TIMEOUT_ERRORS).
 * Authentication and permission errors are matched by no Retry: they fail fast.
 */
export const RETRYABLE_ERRORS: readonly string[] = [
  ...new Set([
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.TooManyRequestsException',
    ...RETRYABLE_ERROR_NAMES.filter((name) => !/^(States|Sandbox)\./.test(name)),
  ]),
];

/**
 * A Lambda step that ran out of time is tried once more: the sharded steps checkpoint in the table,
 * so the second run resumes where the first stopped; any step is idempotent on re-entry. A second
 * timeout is not transient: the failure path records it (classification `timeout`).
 */
export const LAMBDA_TIMEOUT_RETRIES = 1;

export interface ReviewWorkflowProps {
  functions: Record<WorkflowHandlerName, IFunction>;
  /**
   * How long the security team has to approve held revocations before RequestRevocationApproval
   * times out and they are rejected (config `revocationGuard.approvalWindowHours`).
   */
  approvalWindow: Duration;
}

/** Builds the state graph inside `scope`; the caller wraps it in a StateMachine. */
export function buildReviewWorkflow(scope: Construct, props: ReviewWorkflowProps): IChainable {
  const machineTimeout = (handler: WorkflowHandlerName) =>
    // A little above the function's own timeout, so the Lambda error (not a state timeout) is what
    // the history shows; it also replaces the local runner's 60 s default.
    Timeout.duration(handlerSpec(handler).timeout.plus(Duration.seconds(30)));
  const lambdaStep = (
    stateName: string,
    handler: WorkflowHandlerName,
    payload: TaskInput,
    options: { resultPath?: string; outputPath?: string; resultSelector?: Record<string, unknown> } = {
      outputPath: '$.Payload',
    },
  ): LambdaInvoke => {
    const task = new LambdaInvoke(scope, stateName, {
      lambdaFunction: props.functions[handler],
      payload,
      ...options,
      taskTimeout: machineTimeout(handler),
      retryOnServiceExceptions: false,
    });
    return withLambdaRetries(task);
  };
  const campaignOnly = TaskInput.fromObject({ campaignId: JsonPath.stringAt('$.campaignId') });
  // The security team's answer: the handler sends the question and returns; the state waits for
  // SendTaskSuccess. The window is the only deadline; no heartbeat, since a person who is thinking
  // sends nothing until they decide.
  const waitForAnswer = (
    stateName: string,
    handler: WorkflowHandlerName,
    payload: Record<string, unknown>,
    window: Duration,
  ): LambdaInvoke =>
    withTransientRetry(
      new LambdaInvoke(scope, stateName, {
        lambdaFunction: props.functions[handler],
        integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: TaskInput.fromObject({ ...payload, taskToken: JsonPath.taskToken }),
        taskTimeout: Timeout.duration(window),
        resultPath: JsonPath.DISCARD,
        retryOnServiceExceptions: false,
      }),
    );

  // ---- The failure path -------------------------------------------------------------------
  const recordCampaignFailure = lambdaStep(
    STATE_NAMES.recordCampaignFailure,
    'finalize',
    TaskInput.fromObject({
      failure: JsonPath.objectAt('$.failure'),
      error: JsonPath.objectAt('$.error'),
      // The whole object, not `.RedriveCount`: a runner that leaves RedriveCount out (a first run
      // on the embedded host) must not fail the path that reports failures.
      execution: JsonPath.objectAt('$$.Execution'),
    }),
    // Only reached on a redrive that resumed: the input is kept, so the failed state gets its own.
    { resultPath: '$.resumed', resultSelector: { attempt: JsonPath.numberAt('$.Payload.attempt') } },
  );
  const resumeAtFailedState = new Choice(scope, STATE_NAMES.resumeAtFailedState);
  recordCampaignFailure.next(resumeAtFailedState);
  const failurePass = (state: string, parameters: Record<string, unknown>) =>
    new Pass(scope, failedStateName(state), { parameters, resultPath: '$.failure' });
  const failurePasses = new Map<string, Pass>();
  // One Pass per state, so the recorder knows which state failed (the Catch does not say).
  const topLevelFailurePass = (stateName: string): Pass => {
    let pass = failurePasses.get(stateName);
    if (!pass) {
      pass = failurePass(
        stateName,
        // StartCampaign has no campaign id yet: the recorder finds the campaign by execution name.
        stateName === STATE_NAMES.startCampaign
          ? { state: stateName }
          : { state: stateName, campaignId: JsonPath.stringAt('$.campaignId') },
      );
      pass.next(recordCampaignFailure);
      failurePasses.set(stateName, pass);
    }
    return pass;
  };
  // A sharded step that reports `complete: false` runs again (a missing `complete` means done).
  const untilComplete = (choiceName: string, step: IChainable, next: IChainable): Choice =>
    new Choice(scope, choiceName)
      .when(
        Condition.and(Condition.isPresent('$.complete'), Condition.booleanEquals('$.complete', false)),
        step,
      )
      .otherwise(next);

  // ---- The steps -------------------------------------------------------------------------
  const startCampaign = lambdaStep(
    STATE_NAMES.startCampaign,
    'start-campaign',
    // JSONPath cannot default a missing field, so the input is merged rather than picked field by
    // field. Execution names cannot contain quotes or braces, so formatting them into JSON is safe.
    TaskInput.fromJsonPathAt(
      `States.JsonMerge($, States.StringToJson(States.Format('\\{"executionName":"{}"\\}', $$.Execution.Name)), false)`,
    ),
  );
  const snapshot = lambdaStep(STATE_NAMES.snapshot, 'snapshot', campaignOnly);
  const assignReviewers = lambdaStep(STATE_NAMES.assignReviewers, 'assign-reviewers', campaignOnly);

  // ---- One reviewer (a child execution of the Distributed Map) ---------------------------
  const reviewerOfItem = {
    campaignId: JsonPath.stringAt('$.campaignId'),
    reviewer: JsonPath.stringAt('$.reviewer'),
  };
  // RequestReview's output is only how long the first wait is: the child keeps its ids and the
  // parent's execution (for the failure recorder) in its state.
  const requestReview = lambdaStep(
    STATE_NAMES.requestReview,
    'request-review',
    TaskInput.fromObject(reviewerOfItem),
    {
      resultPath: CHECKPOINT_PATH,
      resultSelector: { waitSeconds: JsonPath.numberAt('$.Payload.waitSeconds') },
    },
  );
  // A person's answer, one stretch of the calendar at a time: the timeout is the next checkpoint
  // (a reminder, the escalation, the end of the window), not the whole window. No heartbeat: a
  // person who is thinking sends nothing until they decide.
  const awaitReview = withTransientRetry(
    new LambdaInvoke(scope, STATE_NAMES.awaitReview, {
      lambdaFunction: props.functions['await-review'],
      integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: TaskInput.fromObject({
        ...reviewerOfItem,
        waitSeconds: JsonPath.numberAt(`${CHECKPOINT_PATH}.waitSeconds`),
        taskToken: JsonPath.taskToken,
      }),
      taskTimeout: Timeout.at(`${CHECKPOINT_PATH}.waitSeconds`),
      resultPath: JsonPath.DISCARD,
      // Each child's output is the reviewer's login (see the data contract above).
      outputPath: '$.reviewer',
      retryOnServiceExceptions: false,
    }),
  );
  // The child's end when the task closed without this child's token: its output is the login, as
  // AwaitReview's and MarkUnresponsive's are.
  const reviewEnded = new Pass(scope, STATE_NAMES.reviewEnded, { outputPath: '$.reviewer' });
  const reviewCheckpoint = lambdaStep(
    STATE_NAMES.reviewCheckpoint,
    'review-checkpoint',
    TaskInput.fromObject(reviewerOfItem),
    {
      resultPath: CHECKPOINT_PATH,
      resultSelector: {
        next: JsonPath.stringAt('$.Payload.next'),
        waitSeconds: JsonPath.numberAt('$.Payload.waitSeconds'),
      },
    },
  );
  const markUnresponsive = withLambdaRetries(
    new LambdaInvoke(scope, STATE_NAMES.markUnresponsive, {
      lambdaFunction: props.functions['mark-unresponsive'],
      payload: TaskInput.fromObject({ ...reviewerOfItem, error: JsonPath.objectAt('$.error') }),
      taskTimeout: machineTimeout('mark-unresponsive'),
      // Only whether it is done: with thousands of undecided grants under a keep or revoke
      // end-of-window policy it may stop before its Lambda's time runs out and run again.
      resultSelector: { result: JsonPath.objectAt('$.Payload') },
      resultPath: '$.unresponsive',
      retryOnServiceExceptions: false,
    }),
  );
  const recordReviewFailure = withLambdaRetries(
    new LambdaInvoke(scope, STATE_NAMES.recordReviewFailure, {
      lambdaFunction: props.functions.finalize,
      payload: TaskInput.fromObject({
        failure: JsonPath.objectAt('$.failure'),
        error: JsonPath.objectAt('$.error'),
        // The parent's, from the ItemSelector: a child's own RedriveCount is not the campaign's attempt.
        execution: JsonPath.objectAt('$.execution'),
        resumable: false,
      }),
      taskTimeout: machineTimeout('finalize'),
      retryOnServiceExceptions: false,
    }),
  );
  const reviewerFailurePass = (state: string) =>
    failurePass(state, { state, ...reviewerOfItem }).next(recordReviewFailure);
  // An authentication or permission error (Slack refused the app) would fail every reviewer alike:
  // the campaign fails instead of marking everyone unresponsive. Specific catches first (a Catch
  // list is read in order); the failure path always comes last.
  const requestReviewFailed = reviewerFailurePass(STATE_NAMES.requestReview);
  requestReview.addCatch(requestReviewFailed, { errors: [...FAIL_FAST_ERROR_NAMES], resultPath: '$.error' });
  // Retries above run first; only a final failure lands here, and MarkUnresponsive records which
  // error it was (`error.Error`), so a delivery failure is not mistaken for silence. A Lambda that
  // timed out twice is the machine's failure, not the reviewer's: it takes the failure path.
  requestReview.addCatch(markUnresponsive, { errors: ['States.TaskFailed'], resultPath: '$.error' });
  requestReview.addCatch(requestReviewFailed, { errors: ['States.ALL'], resultPath: '$.error' });

  const awaitReviewFailed = reviewerFailurePass(STATE_NAMES.awaitReview);
  awaitReview.addCatch(awaitReviewFailed, { errors: [...FAIL_FAST_ERROR_NAMES], resultPath: '$.error' });
  // The task closed while no token was stored (the last click between two waits, a cancel):
  // nobody will send this token, so the handler fails with this error and the child ends here.
  awaitReview.addCatch(reviewEnded, { errors: ['ReviewTaskClosedError'], resultPath: JsonPath.DISCARD });
  // The wait's timeout is a checkpoint of the reviewer's calendar. `$.error` keeps it, so the
  // last one (the window's end) is what MarkUnresponsive records.
  awaitReview.addCatch(reviewCheckpoint, { errors: ['States.Timeout'], resultPath: '$.error' });
  // The token could not be stored (after the retries): the reviewer cannot be resumed, so the
  // task is closed as it stands, with the error, rather than waiting for a window nobody watches.
  awaitReview.addCatch(markUnresponsive, { errors: ['States.TaskFailed'], resultPath: '$.error' });
  awaitReview.addCatch(awaitReviewFailed, { errors: ['States.ALL'], resultPath: '$.error' });

  // A checkpoint that cannot record its reminder or escalation fails like any step: a reminder
  // Slack refuses to deliver is logged by the step and is no failure (see review-checkpoint.ts).
  const reviewCheckpointFailed = reviewerFailurePass(STATE_NAMES.reviewCheckpoint);
  reviewCheckpoint.addCatch(reviewCheckpointFailed, {
    errors: [...FAIL_FAST_ERROR_NAMES],
    resultPath: '$.error',
  });
  reviewCheckpoint.addCatch(reviewCheckpointFailed, { errors: ['States.ALL'], resultPath: '$.error' });
  markUnresponsive.addCatch(reviewerFailurePass(STATE_NAMES.markUnresponsive), {
    errors: ['States.ALL'],
    resultPath: '$.error',
  });

  // `close` is the window's end, `done` a task already closed (completed, cancelled); anything
  // else waits again.
  const isReviewOver = new Choice(scope, STATE_NAMES.isReviewOver)
    .when(Condition.stringEquals(`${CHECKPOINT_PATH}.next`, 'close'), markUnresponsive)
    .when(Condition.stringEquals(`${CHECKPOINT_PATH}.next`, 'done'), reviewEnded)
    .otherwise(awaitReview);
  requestReview.next(awaitReview);
  reviewCheckpoint.next(isReviewOver);
  // MarkUnresponsive runs again with the same input until it says it is complete (a missing
  // `complete` means done); each run skips what an earlier one finished.
  markUnresponsive.next(
    new Choice(scope, STATE_NAMES.isUnresponsiveMarked)
      .when(
        Condition.and(
          Condition.isPresent('$.unresponsive.result.complete'),
          Condition.booleanEquals('$.unresponsive.result.complete', false),
        ),
        markUnresponsive,
      )
      .otherwise(reviewEnded),
  );

  const reviewEachReviewer = new DistributedMap(scope, STATE_NAMES.reviewEachReviewer, {
    itemsPath: '$.reviewers',
    maxConcurrency: REVIEWERS_ASKED_AT_ONCE,
    // STANDARD children: a reviewer's child waits for a task token for days (EXPRESS stops at 5 min).
    mapExecutionType: StateMachineType.STANDARD,
    itemSelector: {
      campaignId: JsonPath.stringAt('$.campaignId'),
      reviewer: JsonPath.stringAt('$$.Map.Item.Value'),
      execution: JsonPath.objectAt('$$.Execution'),
    },
    resultPath: JsonPath.DISCARD,
  });
  reviewEachReviewer.itemProcessor(requestReview);

  const checkRevocations = lambdaStep(STATE_NAMES.checkRevocations, 'check-revocations', campaignOnly);
  const applyRevocations = lambdaStep(STATE_NAMES.applyRevocations, 'apply-revocations', campaignOnly);
  const verifyRevocations = lambdaStep(STATE_NAMES.verifyRevocations, 'verify-revocations', campaignOnly);
  const finalize = lambdaStep(STATE_NAMES.finalize, 'finalize', campaignOnly);

  const campaignOfState = { campaignId: JsonPath.stringAt('$.campaignId') };
  const requestRevocationApproval = waitForAnswer(
    STATE_NAMES.requestRevocationApproval,
    'request-revocation-approval',
    campaignOfState,
    props.approvalWindow,
  );
  const rejectHeldRevocations = lambdaStep(
    STATE_NAMES.rejectHeldRevocations,
    'reject-held-revocations',
    TaskInput.fromObject({ ...campaignOfState, error: JsonPath.objectAt('$.approvalError') }),
    { resultPath: JsonPath.DISCARD },
  );

  // ---- Wiring -----------------------------------------------------------------------------
  // Specific catches first (a Catch list is read in order); the failure path always comes last.
  const approvalFailed = topLevelFailurePass(STATE_NAMES.requestRevocationApproval);
  // A Slack app that cannot post fails the campaign rather than silently rejecting what was held.
  requestRevocationApproval.addCatch(approvalFailed, {
    errors: [...FAIL_FAST_ERROR_NAMES],
    resultPath: '$.error',
  });
  // No answer in the window, or a request that could not be sent (after its retries): the held
  // revocations are rejected, recorded as such, and the allowed ones still go ahead.
  requestRevocationApproval.addCatch(rejectHeldRevocations, {
    errors: ['States.Timeout', 'States.TaskFailed'],
    resultPath: '$.approvalError',
  });
  requestRevocationApproval.addCatch(approvalFailed, { errors: ['States.ALL'], resultPath: '$.error' });
  for (const [state, name] of [
    [startCampaign, STATE_NAMES.startCampaign],
    [snapshot, STATE_NAMES.snapshot],
    [assignReviewers, STATE_NAMES.assignReviewers],
    [reviewEachReviewer, STATE_NAMES.reviewEachReviewer],
    [checkRevocations, STATE_NAMES.checkRevocations],
    [rejectHeldRevocations, STATE_NAMES.rejectHeldRevocations],
    [applyRevocations, STATE_NAMES.applyRevocations],
    [verifyRevocations, STATE_NAMES.verifyRevocations],
    [finalize, STATE_NAMES.finalize],
  ] as const) {
    state.addCatch(topLevelFailurePass(name), { errors: ['States.ALL'], resultPath: '$.error' });
  }
  for (const [state, name] of [
    [startCampaign, STATE_NAMES.startCampaign],
    [snapshot, STATE_NAMES.snapshot],
    [assignReviewers, STATE_NAMES.assignReviewers],
    [reviewEachReviewer, STATE_NAMES.reviewEachReviewer],
    [checkRevocations, STATE_NAMES.checkRevocations],
    [requestRevocationApproval, STATE_NAMES.requestRevocationApproval],
    [rejectHeldRevocations, STATE_NAMES.rejectHeldRevocations],
    [applyRevocations, STATE_NAMES.applyRevocations],
    [verifyRevocations, STATE_NAMES.verifyRevocations],
    [finalize, STATE_NAMES.finalize],
  ] as const) {
    resumeAtFailedState.when(Condition.stringEquals('$.failure.state', name), state);
  }
  resumeAtFailedState.otherwise(
    new Fail(scope, STATE_NAMES.cannotResume, {
      error: 'CannotResume',
      cause: 'RecordCampaignFailure resumed, but $.failure.state names no state the workflow resumes at',
    }),
  );

  requestRevocationApproval.next(applyRevocations);
  rejectHeldRevocations.next(applyRevocations);
  // A cancel that won while the security team's approval was pending: ApplyRevocations revoked
  // nothing and says `cancelled: true`; Finalize closes the campaign as cancelled.
  applyRevocations.next(
    new Choice(scope, STATE_NAMES.wasCancelledBeforeRevoking)
      .when(cancelled(), finalize)
      .otherwise(untilComplete(STATE_NAMES.areRevocationsApplied, applyRevocations, verifyRevocations)),
  );
  verifyRevocations.next(untilComplete(STATE_NAMES.areRevocationsVerified, verifyRevocations, finalize));
  const anyRevocationHeld = new Choice(scope, STATE_NAMES.anyRevocationHeld)
    .when(Condition.numberGreaterThan('$.held', 0), requestRevocationApproval)
    .otherwise(applyRevocations);
  // Nothing is revoked after a cancel: Finalize closes the campaign as cancelled.
  const wasCampaignCancelled = new Choice(scope, STATE_NAMES.wasCampaignCancelled)
    .when(cancelled(), finalize)
    .otherwise(anyRevocationHeld);
  snapshot.next(untilComplete(STATE_NAMES.isSnapshotComplete, snapshot, assignReviewers));
  assignReviewers.next(reviewEachReviewer).next(checkRevocations).next(wasCampaignCancelled);
  return startCampaign.next(snapshot);
}

/** `cancelled: true` in a step's output (absent: not cancelled). */
function cancelled(): Condition {
  return Condition.and(Condition.isPresent('$.cancelled'), Condition.booleanEquals('$.cancelled', true));
}

/** A plain Lambda step: transient faults, then its own timeout once (see LAMBDA_TIMEOUT_RETRIES). */
function withLambdaRetries(task: LambdaInvoke): LambdaInvoke {
  withTransientRetry(task);
  task.addRetry({
    errors: [...LAMBDA_TIMEOUT_ERRORS],
    interval: Duration.seconds(5),
    maxAttempts: LAMBDA_TIMEOUT_RETRIES,
  });
  return task;
}

/**
 * Every Lambda step is idempotent (conditional writes keyed by campaign), so a retry repeats no
 * effect. States.Timeout is deliberately absent: on AwaitReview it is the next checkpoint of the
 * reviewer's calendar, on RequestRevocationApproval the end of the approval window.
 */
function withTransientRetry(task: LambdaInvoke): LambdaInvoke {
  task.addRetry({
    errors: [...RETRYABLE_ERRORS],
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 5,
    maxDelay: Duration.minutes(1),
    jitterStrategy: JitterType.FULL,
  });
  return task;
}
