import { type RunOptions, StateMachine } from 'aws-local-stepfunctions';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FAIL_FAST_ERROR_NAMES } from '../../../functions/core/errors';
import type { Services } from '../../../functions/runtime/services';
import {
  CampaignFailedError,
  causeMessage,
  classifyFailure,
  FAILURE_CAUSE_MAX_CHARS,
  recordFailureOrResume,
} from '../../../functions/steps/campaign-failure';
import { FAILURE_CLASSIFICATIONS } from '../../../functions/store/campaigns';
import { verifyChain } from '../../../functions/store/events';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { definitionForRedrive, watchUnfinishedState } from '../../../lib/local/redrive';
import { loadStepHandler, type StepHandler } from '../../../lib/local/step-handlers';
import { type LocalWorkflow, synthesizeForLocalHost } from '../../../lib/local/synthesized-workflow';
import { createTestCampaign, startTestStore, TEST_CONFIG, testServices } from '../../support/local-store';

/*
 * The failure path of the synthesized workflow on aws-local-stepfunctions, with the real finalize
 * Lambda (Finalize and both failure recorders) on dynalite and every other step a stub: what the
 * campaign looks like after a failure, and after a redrive.
 */

type Handlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;

let dynamo: LocalDynamo;
let store: Store;
let services: Services;
let workflow: LocalWorkflow;
let finalize: StepHandler;
let sequence = 0;

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('workflow-failure'));
  services = testServices(store);
  workflow = synthesizeForLocalHost(TEST_CONFIG, { reviewWindowSeconds: 1 });
  finalize = await loadStepHandler('finalize');
});
afterAll(async () => {
  await dynamo?.close();
});

let campaignId: string;
beforeEach(async () => {
  sequence += 1;
  campaignId = `2026-Q4-fail${sequence}`;
});

function namedError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/** A campaign that reached ApplyRevocations: one revocation was begun (pending) when it stopped. */
async function campaignAtRevoking(): Promise<void> {
  await createTestCampaign(store, campaignId, 'snapshotting');
  await store.campaigns.advance(campaignId, 'assigning');
  await store.campaigns.advance(campaignId, 'in_review');
  await store.campaigns.advance(campaignId, 'revoking');
  await store.outcomes.beginRevocation(campaignId, 'grant-1', new Date().toISOString());
}

interface Run {
  calls: string[];
  result: Promise<unknown>;
  unfinished: ReturnType<typeof watchUnfinishedState>;
}

/**
 * Runs `definition` with the finalize Lambda real and the other steps answering as `stub` says.
 * `redriveCount` is `$$.Execution.RedriveCount`; the execution name is the campaign's.
 */
function run(
  definition: LocalWorkflow['definition'],
  input: unknown,
  stub: (state: string, payload: Record<string, unknown>) => unknown,
  redriveCount?: number,
): Run {
  const calls: string[] = [];
  const handlers: Handlers = {};
  for (const [state, handler] of Object.entries(workflow.handlerByStateName)) {
    handlers[state] = async (parameters) => {
      const { Payload } = parameters as { Payload: Record<string, unknown> };
      calls.push(state);
      if (handler === 'finalize') return { Payload: (await finalize(Payload, services)) as never };
      const answer = await stub(state, Payload);
      return (workflow.waitForTaskTokenStates.includes(state) ? answer : { Payload: answer }) as never;
    };
  }
  const execution = new StateMachine(definition).run(input as never, {
    overrides: { taskResourceLocalHandlers: handlers },
    context: {
      // A first run without RedriveCount, as the embedded host runs it; a redrive sets it.
      Execution: {
        Name: `execution-${campaignId}`,
        ...(redriveCount === undefined ? {} : { RedriveCount: redriveCount }),
      },
      get Task() {
        return { Token: `token-${Math.random()}` };
      },
    },
  });
  const unfinished = watchUnfinishedState(execution.eventLogs);
  return { calls, result: execution.result, unfinished };
}

async function failureOf(result: Promise<unknown>): Promise<Error> {
  const error = await result.then(
    () => undefined,
    (caught: unknown) => caught as Error,
  );
  expect(error, 'the execution should have failed').toBeDefined();
  return (error!.cause ?? error) as Error;
}

async function eventsOfType(type: string) {
  return (await store.events.list(campaignId)).filter((event) => event.type === type);
}

describe('the failure path on the embedded runner', () => {
  it('records an authentication error without retrying it, ends FAILED, and a redrive resumes at the failed step', async () => {
    await campaignAtRevoking();
    let applyFails = true;
    const stub = (state: string) => {
      if (state === 'ApplyRevocations' && applyFails) {
        throw namedError('AuthenticationError', 'GitHub revoke failed with 401: Bad credentials');
      }
      if (state === 'AssignReviewers') return { campaignId, reviewers: [] };
      if (state === 'CheckRevocations') return { campaignId, held: 0 };
      // As the real step does before Finalize may complete the campaign.
      if (state === 'VerifyRevocations')
        return store.campaigns.advance(campaignId, 'verifying').then(() => ({ campaignId }));
      return { campaignId };
    };
    const first = run(workflow.definition, { trigger: 'test' }, stub);
    const failure = await failureOf(first.result);
    expect(failure.name).toBe('CampaignFailedError');
    expect(failure.message).toContain('ApplyRevocations failed with AuthenticationError (authentication)');
    expect(failure.message).toContain('redrive');
    // No Retry matches an authentication error: one call, then the failure path.
    expect(first.calls).toEqual([
      'StartCampaign',
      'Snapshot',
      'AssignReviewers',
      'CheckRevocations',
      'ApplyRevocations',
      'RecordCampaignFailure',
    ]);

    const failed = await store.campaigns.get(campaignId);
    expect(failed.status).toBe('failed');
    expect(failed.failure).toMatchObject({
      state: 'ApplyRevocations',
      error: 'AuthenticationError',
      cause: 'GitHub revoke failed with 401: Bad credentials',
      classification: 'authentication',
      statusBefore: 'revoking',
      attempt: 0,
      eventSeq: expect.any(Number),
    });
    const [recorded, ...more] = await eventsOfType('campaign_failed');
    expect(more).toEqual([]);
    expect(recorded!.seq).toBe(failed.failure!.eventSeq);
    expect(recorded!.data).toEqual({
      state: 'ApplyRevocations',
      error: 'AuthenticationError',
      cause: 'GitHub revoke failed with 401: Bad credentials',
      classification: 'authentication',
      statusBefore: 'revoking',
      attempt: 0,
      executionName: `execution-${campaignId}`,
      counts: expect.objectContaining({ revocationsApplied: 0, revocationsFailed: 0 }),
    });
    expect(failed.counts).toEqual(recorded!.data.counts);
    // The revocation that was under way stays visible as pending: nothing claims it applied or not.
    expect((await store.outcomes.listRevocations(campaignId)).map((item) => item.status)).toEqual([
      'pending',
    ]);
    expect(verifyChain(await store.events.list(campaignId)).ok).toBe(true);

    // Redrive: AWS re-runs the state that did not exit, with its input, RedriveCount + 1.
    const unfinished = await first.unfinished;
    expect(unfinished?.name).toBe('RecordCampaignFailure');
    applyFails = false;
    const second = run(definitionForRedrive(workflow.definition, unfinished!), unfinished!.input, stub, 1);
    const summary = (await second.result) as { status: string; campaignId: string };
    expect(summary).toMatchObject({ campaignId, status: 'completed' });
    // Nothing before the failed step runs again.
    expect(second.calls).toEqual([
      'RecordCampaignFailure',
      'ApplyRevocations',
      'VerifyRevocations',
      'Finalize',
    ]);

    const types = (await store.events.list(campaignId)).map((event) => event.type);
    expect(types.slice(-3)).toEqual(['campaign_failed', 'campaign_resumed', 'campaign_completed']);
    expect((await eventsOfType('campaign_resumed'))[0]!.data).toMatchObject({
      attempt: 1,
      resumeAt: 'ApplyRevocations',
      status: 'revoking',
      failedAttempt: 0,
      failedState: 'ApplyRevocations',
    });
    const completed = await store.campaigns.get(campaignId);
    expect(completed.status).toBe('completed');
    expect(completed.failure).toMatchObject({ resumedAttempt: 1, resumedEventSeq: expect.any(Number) });
    expect(verifyChain(await store.events.list(campaignId)).ok).toBe(true);
  });

  it('fails the campaign once when a reviewer’s request is refused (the Map’s own Catch adds no second event)', async () => {
    await createTestCampaign(store, campaignId, 'snapshotting');
    await store.campaigns.advance(campaignId, 'assigning');
    await store.campaigns.advance(campaignId, 'in_review');
    const stub = (state: string, payload: Record<string, unknown>) => {
      if (state === 'AssignReviewers') return { campaignId, reviewers: ['alice', 'bob'] };
      if (state === 'RequestReview') {
        if (payload.reviewer === 'alice')
          throw namedError('PermissionError', 'Slack: missing_scope chat:write');
        return new Promise(() => {}); // bob is still reading when alice's child fails
      }
      return { campaignId };
    };
    const execution = run(workflow.definition, {}, stub);
    const failure = await failureOf(execution.result);
    expect(failure.name).toBe('CampaignFailedError');
    expect(execution.calls.filter((state) => state === 'RequestReview')).toHaveLength(2);
    expect(execution.calls).toContain('RecordReviewFailure');
    expect(execution.calls.at(-1)).toBe('RecordCampaignFailure');
    expect(execution.calls).not.toContain('MarkUnresponsive');
    const recorded = await eventsOfType('campaign_failed');
    expect(recorded.map((event) => event.data)).toEqual([
      expect.objectContaining({
        state: 'RequestReview',
        reviewer: 'alice',
        error: 'PermissionError',
        classification: 'permission',
        statusBefore: 'in_review',
      }),
    ]);
    expect((await store.campaigns.get(campaignId)).status).toBe('failed');
    expect((await execution.unfinished)?.name).toBe('RecordCampaignFailure');
  });

  it('ends FAILED when StartCampaign fails before any campaign exists, recording nothing', async () => {
    const execution = run(workflow.definition, { trigger: 'test' }, (state) => {
      if (state === 'StartCampaign') throw namedError('ConfigError', 'no organization');
      return { campaignId };
    });
    const failure = await failureOf(execution.result);
    expect(failure.name).toBe('CampaignFailedError');
    expect(failure.message).toContain('No campaign was recorded');
    expect(execution.calls).toEqual(['StartCampaign', 'RecordCampaignFailure']);
    expect(await store.campaigns.find(campaignId)).toBeUndefined();
  });
});

describe('recordFailureOrResume', () => {
  const input = (state: string, attempt: number, extra: Record<string, unknown> = {}) => ({
    failure: { state, campaignId },
    error: {
      Error: 'TransientError',
      Cause: JSON.stringify({ errorMessage: 'GitHub 503', trace: ['at x'] }),
    },
    execution: { Name: 'execution-1', RedriveCount: attempt },
    ...extra,
  });

  it('writes one campaign_failed per attempt, resumes once per redrive, and never loops', async () => {
    await campaignAtRevoking();
    await expect(recordFailureOrResume(input('ApplyRevocations', 0), services)).rejects.toThrow(
      CampaignFailedError,
    );
    // A second recorder in the same attempt (another state, or a Lambda retry after the event).
    await expect(recordFailureOrResume(input('ReviewEachReviewer', 0), services)).rejects.toThrow(
      /failed: ApplyRevocations failed with TransientError \(unavailable\): GitHub 503/,
    );
    await expect(recordFailureOrResume(input('ApplyRevocations', 0), services)).rejects.toThrow(
      CampaignFailedError,
    );
    expect(await eventsOfType('campaign_failed')).toHaveLength(1);
    // The Cause's stack is not kept: only the message.
    expect((await eventsOfType('campaign_failed'))[0]!.data.cause).toBe('GitHub 503');

    await expect(recordFailureOrResume(input('ApplyRevocations', 1), services)).resolves.toEqual({
      campaignId,
      resumeAt: 'ApplyRevocations',
      attempt: 1,
    });
    expect((await store.campaigns.get(campaignId)).status).toBe('revoking');
    // The resumed step fails again in the same attempt: a new failure, not a second resume.
    await expect(recordFailureOrResume(input('ApplyRevocations', 1), services)).rejects.toThrow(
      CampaignFailedError,
    );
    expect((await eventsOfType('campaign_failed')).map((event) => event.data.attempt)).toEqual([0, 1]);
    expect(await eventsOfType('campaign_resumed')).toHaveLength(1);
    expect((await store.campaigns.get(campaignId)).status).toBe('failed');
  });

  it('never resumes from inside the reviewer Map (a redriven parent starts a new Map Run)', async () => {
    await campaignAtRevoking();
    await expect(recordFailureOrResume(input('ApplyRevocations', 0), services)).rejects.toThrow(
      CampaignFailedError,
    );
    await expect(
      recordFailureOrResume(input('RequestReview', 1, { resumable: false }), services),
    ).rejects.toThrow(CampaignFailedError);
    expect(await eventsOfType('campaign_resumed')).toHaveLength(0);
    const campaign = await store.campaigns.get(campaignId);
    expect(campaign.status).toBe('failed');
    // Still the status before the first failure: a resume goes back there.
    expect(campaign.failure).toMatchObject({ state: 'RequestReview', attempt: 1, statusBefore: 'revoking' });
  });

  it('lets a redriven step advance a failed campaign from the status it failed in, recording the resume', async () => {
    await campaignAtRevoking();
    await expect(recordFailureOrResume(input('VerifyRevocations', 0), services)).rejects.toThrow(
      CampaignFailedError,
    );
    await expect(store.campaigns.advance(campaignId, 'completed')).rejects.toThrow(/is failed/);
    await store.campaigns.advance(campaignId, 'verifying');
    expect((await store.campaigns.get(campaignId)).status).toBe('verifying');
    expect((await eventsOfType('campaign_resumed'))[0]!.data).toMatchObject({ resumedBy: 'advance' });
  });

  it('never fails a completed campaign', async () => {
    await campaignAtRevoking();
    await store.campaigns.advance(campaignId, 'verifying');
    await store.campaigns.advance(campaignId, 'completed');
    await expect(recordFailureOrResume(input('Finalize', 0), services)).rejects.toThrow(
      /after campaign .* was completed/,
    );
    expect((await store.campaigns.get(campaignId)).status).toBe('completed');
    expect(await eventsOfType('campaign_failed')).toHaveLength(0);
  });
});

describe('classification', () => {
  it('puts every error name in one of the six classes; authentication and permission by name', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.constantFrom(...FAIL_FAST_ERROR_NAMES)),
        fc.string(),
        (name, cause) => {
          const classification = classifyFailure({ Error: name, Cause: cause });
          expect(FAILURE_CLASSIFICATIONS).toContain(classification);
          if (FAIL_FAST_ERROR_NAMES.includes(name))
            expect(['authentication', 'permission']).toContain(classification);
        },
      ),
    );
    expect(classifyFailure({ Error: 'AuthenticationError' })).toBe('authentication');
    expect(classifyFailure({ Error: 'PermissionError' })).toBe('permission');
    expect(classifyFailure({ Error: 'ThrottledError' })).toBe('throttled');
    expect(classifyFailure({ Error: 'Sandbox.Timedout' })).toBe('timeout');
    expect(classifyFailure({ Error: 'States.Timeout' })).toBe('timeout');
    expect(classifyFailure({ Error: 'TransientError' })).toBe('unavailable');
    expect(classifyFailure({ Error: 'TypeError' })).toBe('internal');
    expect(classifyFailure(undefined)).toBe('internal');
  });

  it('keeps the message of a Cause, clipped, never its stack', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), (message) => {
        const kept = causeMessage(
          JSON.stringify({ errorType: 'X', errorMessage: message, trace: ['at secret'] }),
        );
        expect(kept.length).toBeLessThanOrEqual(FAILURE_CAUSE_MAX_CHARS);
        expect(kept).not.toContain('at secret');
        if (message.length <= FAILURE_CAUSE_MAX_CHARS) expect(kept).toBe(message);
      }),
    );
    expect(causeMessage(undefined)).toBe('');
    expect(causeMessage('plain text')).toBe('plain text');
  });
});
