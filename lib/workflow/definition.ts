import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  Choice,
  Condition,
  type IChainable,
  IntegrationPattern,
  JitterType,
  JsonPath,
  Map as MapState,
  TaskInput,
  Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { TransientError } from '../../functions/core/errors';
import { MAX_REVIEWERS_ASKED_AT_ONCE } from '../../functions/core/limits';
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
 * - ReviewEachReviewer runs RequestReview per reviewer with `{ campaignId, reviewer, taskToken }`
 *   and waits for SendTaskSuccess; a timeout (the review window) or a failure goes to
 *   MarkUnresponsive with `{ campaignId, reviewer, error: { Error, Cause } }`. The Map's result is
 *   discarded: decisions are evidence kept in the table, not in the execution state.
 * - CheckRevocations (the revocation guard) returns `{ campaignId, revocations, allowed, held,
 *   forbidden }`. When `held > 0`, RequestRevocationApproval runs with `{ campaignId, taskToken }`
 *   and waits for SendTaskSuccess from the security team's answer in Slack; the approval window's
 *   timeout or a failure goes to RejectHeldRevocations with `{ campaignId, error: { Error, Cause } }`.
 *   Either way ApplyRevocations follows, and reads the verdict and the answer from the table.
 */
export const STATE_NAMES = {
  startCampaign: 'StartCampaign',
  snapshot: 'Snapshot',
  assignReviewers: 'AssignReviewers',
  reviewEachReviewer: 'ReviewEachReviewer',
  requestReview: 'RequestReview',
  markUnresponsive: 'MarkUnresponsive',
  checkRevocations: 'CheckRevocations',
  anyRevocationHeld: 'AnyRevocationHeld',
  requestRevocationApproval: 'RequestRevocationApproval',
  rejectHeldRevocations: 'RejectHeldRevocations',
  applyRevocations: 'ApplyRevocations',
  verifyRevocations: 'VerifyRevocations',
  finalize: 'Finalize',
} as const;

/** See functions/core/limits.ts: the steps warn when a campaign has more reviewers than this. */
export const REVIEW_MAX_CONCURRENCY = MAX_REVIEWERS_ASKED_AT_ONCE;

/** Errors worth another attempt: Lambda's own transient faults and the app's TransientError. */
export const RETRYABLE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  TransientError.name,
] as const;

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
  const step = (stateName: string, handler: WorkflowHandlerName, payload: TaskInput): LambdaInvoke => {
    const task = new LambdaInvoke(scope, stateName, {
      lambdaFunction: props.functions[handler],
      payload,
      outputPath: '$.Payload',
      // A little above the function's own timeout, so the Lambda error (not a state timeout)
      // is what the history shows; it also replaces the local runner's 60 s default.
      taskTimeout: Timeout.duration(handlerSpec(handler).timeout.plus(Duration.seconds(30))),
      retryOnServiceExceptions: false,
    });
    return withRetry(task);
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
  ): LambdaInvoke =>
    withRetry(
      new LambdaInvoke(scope, stateName, {
        lambdaFunction: props.functions[handler],
        integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: TaskInput.fromObject({ ...payload, taskToken: JsonPath.taskToken }),
        taskTimeout: Timeout.duration(window),
        resultPath: JsonPath.DISCARD,
        retryOnServiceExceptions: false,
      }),
    );
  // What happens when no answer came (the window closed, or the question could not be sent):
  // the state's input carries the caught error in `$.error`, and its own result is discarded.
  const noAnswer = (stateName: string, handler: WorkflowHandlerName, payload: Record<string, unknown>) =>
    withRetry(
      new LambdaInvoke(scope, stateName, {
        lambdaFunction: props.functions[handler],
        payload: TaskInput.fromObject({ ...payload, error: JsonPath.objectAt('$.error') }),
        taskTimeout: Timeout.duration(handlerSpec(handler).timeout.plus(Duration.seconds(30))),
        resultPath: JsonPath.DISCARD,
        retryOnServiceExceptions: false,
      }),
    );

  const startCampaign = step(
    STATE_NAMES.startCampaign,
    'start-campaign',
    // JSONPath cannot default a missing field, so the input is merged rather than picked field by
    // field. Execution names cannot contain quotes or braces, so formatting them into JSON is safe.
    TaskInput.fromJsonPathAt(
      `States.JsonMerge($, States.StringToJson(States.Format('\\{"executionName":"{}"\\}', $$.Execution.Name)), false)`,
    ),
  );
  const snapshot = step(STATE_NAMES.snapshot, 'snapshot', campaignOnly);
  const assignReviewers = step(STATE_NAMES.assignReviewers, 'assign-reviewers', campaignOnly);

  const reviewerOfItem = {
    campaignId: JsonPath.stringAt('$.campaignId'),
    reviewer: JsonPath.stringAt('$.reviewer'),
  };
  const requestReview = waitForAnswer(
    STATE_NAMES.requestReview,
    'request-review',
    reviewerOfItem,
    props.reviewWindow,
  );
  const markUnresponsive = noAnswer(STATE_NAMES.markUnresponsive, 'mark-unresponsive', reviewerOfItem);
  // Retries above run first; only the final failure or the review window's timeout lands here, and
  // MarkUnresponsive records which it was (`error.Error`), so a delivery failure is not mistaken
  // for silence.
  requestReview.addCatch(markUnresponsive, {
    errors: ['States.Timeout', 'States.TaskFailed'],
    resultPath: '$.error',
  });

  const reviewEachReviewer = new MapState(scope, STATE_NAMES.reviewEachReviewer, {
    itemsPath: '$.reviewers',
    maxConcurrency: REVIEW_MAX_CONCURRENCY,
    itemSelector: {
      campaignId: JsonPath.stringAt('$.campaignId'),
      reviewer: JsonPath.stringAt('$$.Map.Item.Value'),
    },
    resultPath: JsonPath.DISCARD,
  });
  reviewEachReviewer.itemProcessor(requestReview);

  const checkRevocations = step(STATE_NAMES.checkRevocations, 'check-revocations', campaignOnly);
  const applyRevocations = step(STATE_NAMES.applyRevocations, 'apply-revocations', campaignOnly);
  const verifyRevocations = step(STATE_NAMES.verifyRevocations, 'verify-revocations', campaignOnly);
  const finalize = step(STATE_NAMES.finalize, 'finalize', campaignOnly);
  applyRevocations.next(verifyRevocations).next(finalize);

  const campaignOfState = { campaignId: JsonPath.stringAt('$.campaignId') };
  const requestRevocationApproval = waitForAnswer(
    STATE_NAMES.requestRevocationApproval,
    'request-revocation-approval',
    campaignOfState,
    props.approvalWindow,
  );
  const rejectHeldRevocations = noAnswer(
    STATE_NAMES.rejectHeldRevocations,
    'reject-held-revocations',
    campaignOfState,
  );
  // No answer in the window, or a request that could not be sent (after its retries): the held
  // revocations are rejected, recorded as such, and the allowed ones still go ahead.
  requestRevocationApproval.addCatch(rejectHeldRevocations, {
    errors: ['States.Timeout', 'States.TaskFailed'],
    resultPath: '$.error',
  });
  requestRevocationApproval.next(applyRevocations);
  rejectHeldRevocations.next(applyRevocations);

  const anyRevocationHeld = new Choice(scope, STATE_NAMES.anyRevocationHeld)
    .when(Condition.numberGreaterThan('$.held', 0), requestRevocationApproval)
    .otherwise(applyRevocations);

  return startCampaign
    .next(snapshot)
    .next(assignReviewers)
    .next(reviewEachReviewer)
    .next(checkRevocations)
    .next(anyRevocationHeld);
}

/**
 * Every Lambda step is idempotent (conditional writes keyed by campaign), so a retry repeats no
 * effect. States.Timeout is deliberately absent: on RequestReview it means the window has closed.
 */
function withRetry(task: LambdaInvoke): LambdaInvoke {
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
