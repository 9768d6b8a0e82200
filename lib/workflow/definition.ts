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
 *   up to Step Functions' 10,000) runs RequestReview per reviewer with `{ campaignId, reviewer,
 *   taskToken }` and waits for SendTaskSuccess; a timeout (the review window) or a failure goes to
 *   MarkUnresponsive with `{ campaignId, reviewer, error: { Error, Cause } }`; an authentication or
 *   permission error fails the campaign instead (every reviewer would fail the same way). Each
 *   child's output is the reviewer's login, so the Map's result is no larger than its input; it
 *   is discarded anyway: decisions are evidence kept in the table, not in the execution state.
 * - CheckRevocations (the revocation guard) returns `{ campaignId, revocations, allowed, held,
 *   forbidden }`. When `held > 0`, RequestRevocationApproval runs with `{ campaignId, taskToken }`
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
  markUnresponsive: 'MarkUnresponsive',
  recordReviewFailure: 'RecordReviewFailure',
  checkRevocations: 'CheckRevocations',
  anyRevocationHeld: 'AnyRevocationHeld',
  requestRevocationApproval: 'RequestRevocationApproval',
  rejectHeldRevocations: 'RejectHeldRevocations',
  applyRevocations: 'ApplyRevocations',
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
export const REVIEWER_CATCHING_STATES = [STATE_NAMES.requestReview, STATE_NAMES.markUnresponsive] as const;

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
  /** How long a reviewer has before RequestReview times out (config `review.windowHours`). */
  reviewWindow: Duration;
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
  // A person's answer: the handler sends the question and returns; the state waits for
  // SendTaskSuccess. The window is the only deadline; no heartbeat, since a person who is thinking
  // sends nothing until they decide.
  const waitForAnswer = (
    stateName: string,
    handler: WorkflowHandlerName,
    payload: Record<string, unknown>,
    window: Duration,
    outputPath?: string,
  ): LambdaInvoke =>
    withTransientRetry(
      new LambdaInvoke(scope, stateName, {
        lambdaFunction: props.functions[handler],
        integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: TaskInput.fromObject({ ...payload, taskToken: JsonPath.taskToken }),
        taskTimeout: Timeout.duration(window),
        resultPath: JsonPath.DISCARD,
        outputPath,
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
  const requestReview = waitForAnswer(
    STATE_NAMES.requestReview,
    'request-review',
    reviewerOfItem,
    props.reviewWindow,
    // Each child's output is the reviewer's login (see the data contract above).
    '$.reviewer',
  );
  const markUnresponsive = withLambdaRetries(
    new LambdaInvoke(scope, STATE_NAMES.markUnresponsive, {
      lambdaFunction: props.functions['mark-unresponsive'],
      payload: TaskInput.fromObject({ ...reviewerOfItem, error: JsonPath.objectAt('$.error') }),
      taskTimeout: machineTimeout('mark-unresponsive'),
      resultPath: JsonPath.DISCARD,
      outputPath: '$.reviewer',
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
  const requestReviewFailed = reviewerFailurePass(STATE_NAMES.requestReview);
  // An authentication or permission error (Slack refused the app) would fail every reviewer alike:
  // the campaign fails instead of marking everyone unresponsive.
  requestReview.addCatch(requestReviewFailed, { errors: [...FAIL_FAST_ERROR_NAMES], resultPath: '$.error' });
  // Retries above run first; only the final failure or the review window's timeout lands here, and
  // MarkUnresponsive records which it was (`error.Error`), so a delivery failure is not mistaken
  // for silence.
  requestReview.addCatch(markUnresponsive, {
    errors: ['States.Timeout', 'States.TaskFailed'],
    resultPath: '$.error',
  });
  requestReview.addCatch(requestReviewFailed, { errors: ['States.ALL'], resultPath: '$.error' });
  markUnresponsive.addCatch(reviewerFailurePass(STATE_NAMES.markUnresponsive), {
    errors: ['States.ALL'],
    resultPath: '$.error',
  });

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
  applyRevocations.next(
    untilComplete(STATE_NAMES.areRevocationsApplied, applyRevocations, verifyRevocations),
  );
  verifyRevocations.next(untilComplete(STATE_NAMES.areRevocationsVerified, verifyRevocations, finalize));
  const anyRevocationHeld = new Choice(scope, STATE_NAMES.anyRevocationHeld)
    .when(Condition.numberGreaterThan('$.held', 0), requestRevocationApproval)
    .otherwise(applyRevocations);
  snapshot.next(untilComplete(STATE_NAMES.isSnapshotComplete, snapshot, assignReviewers));
  assignReviewers.next(reviewEachReviewer).next(checkRevocations).next(anyRevocationHeld);
  return startCampaign.next(snapshot);
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
 * effect. States.Timeout is deliberately absent: on RequestReview it means the window has closed.
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
