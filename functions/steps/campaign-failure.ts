import { AccessReviewError, classifyError } from '../core/errors';
import { signChainHead } from '../evidence/signing/sign-head';
import { countsOf, loadCampaignRecords, summarize } from '../evidence/summary';
import type { Services } from '../runtime/services';
import type { Campaign, CampaignFailure, CampaignProgress, FailureClassification } from '../store/campaigns';
import { causeMessage } from './failure-cause';
import { recoverMissingEvents } from './finalize';

export { causeMessage, FAILURE_CAUSE_MAX_CHARS } from './failure-cause';

/** The error a Catch put at `$.error`: `{ Error, Cause }`. */
export interface CaughtError {
  Error?: string;
  Cause?: string;
}

/**
 * The finalize Lambda in its failure mode, as the workflow's failure path invokes it: the state that
 * failed (set by the `<State>Failed` Pass the Catch led to), the caught error, and which attempt of
 * the execution this is (`$$.Execution.RedriveCount`).
 */
export interface RecordFailureInput {
  failure: { state: string; campaignId?: string; reviewer?: string };
  error?: CaughtError;
  /**
   * `$$.Execution` of the workflow's execution (the parent's, inside the reviewer Map). Its
   * `RedriveCount` is the attempt (0 on the first run; a runner that does not set it is taken as a
   * first run), its `Name` finds a campaign StartCampaign created before it failed.
   */
  execution: { Name: string; RedriveCount?: number };
  /**
   * False inside the reviewer Map: a child execution is never redriven on its own (the parent's
   * Map state exited through its Catch, so a redriven parent starts a new Map Run), so it never
   * resumes the campaign.
   */
  resumable?: boolean;
}

export interface ResumeOutput {
  campaignId: string;
  resumeAt: string;
  attempt: number;
}

/**
 * What the failure path throws once the failure is recorded: the execution ends FAILED on it (so
 * the alarms on failed executions fire), at the recording state, which is what a redrive re-runs.
 */
export class CampaignFailedError extends AccessReviewError {}

export function isRecordFailureInput(input: unknown): input is RecordFailureInput {
  return (
    typeof input === 'object' &&
    input !== null &&
    typeof (input as { failure?: { state?: unknown } }).failure?.state === 'string'
  );
}

/** The error's class: by name, as Step Functions reports it (the message is not a contract). */
export function classifyFailure(error: CaughtError | undefined): FailureClassification {
  return classifyError({ Error: error?.Error ?? 'States.Runtime' });
}

/**
 * The failure path. Three cases, told apart by the campaign's `failure`:
 * - a redrive re-running this state after a failure was recorded in an earlier attempt: the
 *   campaign goes back to the status it failed in, `campaign_resumed` is recorded, and the workflow
 *   goes on at the state that failed (its ResumeAt Choice reads `$.failure.state`);
 * - a failure already recorded in this attempt by another state (the reviewer Map after its child):
 *   nothing more is written;
 * - otherwise the failure is recorded: status `failed`, events whose record lost its link recovered
 *   (as Finalize does), counts taken, `campaign_failed` appended.
 * Except when resuming, this throws CampaignFailedError: the execution ends FAILED here.
 * Pending revocations stay pending: nothing here touches them.
 */
export async function recordFailureOrResume(
  input: RecordFailureInput,
  services: Services,
): Promise<ResumeOutput> {
  const { store } = services;
  const { failure: failed } = input;
  const attempt = input.execution.RedriveCount ?? 0;
  const executionName = input.execution.Name;
  const errorName = input.error?.Error ?? 'States.Runtime';
  const cause = causeMessage(input.error?.Cause);
  const classification = classifyFailure(input.error);
  const where = failed.reviewer ? `${failed.state} (reviewer ${failed.reviewer})` : failed.state;
  const summary = `${where} failed with ${errorName} (${classification})${cause ? `: ${cause}` : ''}`;

  const campaign = failed.campaignId
    ? await store.campaigns.get(failed.campaignId)
    : await store.campaigns.findByExecution(executionName);
  if (!campaign) {
    // StartCampaign failed before it recorded anything: there is nothing to resume, and a redrive
    // would only fail again here. Nothing was done, so a new execution loses nothing.
    throw new CampaignFailedError(
      `${summary}. No campaign was recorded for execution ${executionName}; start a new execution.`,
    );
  }
  const { campaignId } = campaign;
  if (campaign.status === 'completed') {
    throw new CampaignFailedError(
      `${summary}, after campaign ${campaignId} was completed; nothing to record.`,
    );
  }
  const recorded = campaign.failure;
  if (
    input.resumable !== false &&
    recorded &&
    recorded.attempt < attempt &&
    isResumePending(campaign, attempt)
  ) {
    return resume(campaign, recorded, input, services);
  }

  const claim = failed.reviewer ? `${failed.state}#${failed.reviewer}` : failed.state;
  let current: CampaignFailure;
  if (campaign.status === 'failed' && recorded?.attempt === attempt) {
    if (recorded.claim !== claim || recorded.eventSeq !== undefined) {
      throw new CampaignFailedError(`${summary}. Campaign ${campaignId} failed: ${describe(recorded)}`);
    }
    // Our own earlier try claimed the failure and stopped before its event: finish it.
    current = recorded;
  } else {
    const statusBefore: CampaignProgress =
      campaign.status === 'failed' && recorded
        ? recorded.statusBefore
        : (campaign.status as CampaignProgress);
    const candidate: CampaignFailure = {
      state: failed.state,
      ...(failed.reviewer ? { reviewer: failed.reviewer } : {}),
      error: errorName,
      cause,
      classification,
      at: services.now().toISOString(),
      attempt,
      statusBefore,
      claim,
    };
    const outcome = await store.campaigns.fail(campaignId, candidate);
    if (!outcome.recorded) {
      const winner = outcome.campaign.failure;
      throw new CampaignFailedError(
        `${summary}. Campaign ${campaignId} ${winner ? `failed: ${describe(winner)}` : `is ${outcome.campaign.status}`}`,
      );
    }
    current = candidate;
  }

  const records = await loadCampaignRecords(store, campaignId);
  await recoverMissingEvents(records, services);
  const counts = countsOf(summarize(records));
  const event = await store.events.append(
    campaignId,
    'campaign_failed',
    {
      state: current.state,
      ...(current.reviewer ? { reviewer: current.reviewer } : {}),
      error: current.error,
      cause: current.cause,
      classification: current.classification,
      statusBefore: current.statusBefore,
      attempt: current.attempt,
      executionName: executionName,
      counts,
    },
    services.now(),
  );
  await store.campaigns.linkFailureEvent(campaignId, event.seq, counts);
  try {
    await signChainHead(campaignId, services);
  } catch (error) {
    // The failure is recorded; a signer that fails too (KMS may be what failed) must not hide it.
    // Verification then reports the unsigned tail, which is the truth.
    services.log.error('the chain head after campaign_failed could not be signed', {
      campaignId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
  services.log.error('campaign failed', {
    campaignId,
    state: current.state,
    error: current.error,
    classification: current.classification,
    attempt,
  });
  services.progress(`Campaign ${campaignId} failed: ${describe(current)}`);
  throw new CampaignFailedError(
    `Campaign ${campaignId} failed: ${describe(current)}. Recorded as event ${event.seq}; ` +
      'fix the cause, then redrive this execution to resume it.',
  );
}

/**
 * Whether this redrive still has to resume: the campaign is failed, or a resume of this very attempt
 * stopped between the status and its event (a retried resume finishes it).
 */
function isResumePending(campaign: Campaign, attempt: number): boolean {
  if (campaign.status === 'failed') return true;
  const failure = campaign.failure;
  return failure?.resumedAttempt === attempt && failure.resumedEventSeq === undefined;
}

async function resume(
  campaign: Campaign,
  recorded: CampaignFailure,
  input: RecordFailureInput,
  services: Services,
): Promise<ResumeOutput> {
  const { store } = services;
  const { campaignId } = campaign;
  const now = services.now();
  const attempt = input.execution.RedriveCount ?? 0;
  const resumed = await store.campaigns.resume(campaignId, attempt, now);
  const event = await store.events.append(
    campaignId,
    'campaign_resumed',
    {
      attempt,
      resumeAt: input.failure.state,
      status: resumed.status,
      failedAttempt: recorded.attempt,
      failedState: recorded.state,
      executionName: input.execution.Name,
    },
    now,
  );
  await store.campaigns.markResumed(campaignId, {
    attempt,
    at: now.toISOString(),
    eventSeq: event.seq,
  });
  await signChainHead(campaignId, services);
  services.progress(`Campaign ${campaignId} resumed at ${input.failure.state} (redrive ${attempt})`);
  return { campaignId, resumeAt: input.failure.state, attempt };
}

function describe(failure: CampaignFailure): string {
  const where = failure.reviewer ? `${failure.state} (reviewer ${failure.reviewer})` : failure.state;
  return `${where} failed with ${failure.error} (${failure.classification})${failure.cause ? `: ${failure.cause}` : ''}`;
}
