import { lambdaHandler } from '../runtime/aws';
import { rejectHeldRevocations } from '../steps/reject-held-revocations';

/** Workflow step; the embedded host calls `run` with its own services. */
export const run = rejectHeldRevocations;
export const handler = lambdaHandler(run);
