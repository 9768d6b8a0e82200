import { lambdaHandler } from '../runtime/aws';
import { applyRevocations } from '../steps/apply-revocations';

/** Workflow step; the embedded host calls `run` with its own services. */
export const run = applyRevocations;
export const handler = lambdaHandler(run);
