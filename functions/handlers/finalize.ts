import { lambdaHandler } from '../runtime/aws';
import { finalizeOrRecordFailure } from '../steps/finalize';

/** Workflow step (Finalize, and the failure path's recorder); the embedded host calls `run` with its own services. */
export const run = finalizeOrRecordFailure;
export const handler = lambdaHandler(run);
