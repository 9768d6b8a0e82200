import { lambdaHandler } from '../runtime/aws';
import { verifyRevocations } from '../steps/verify-revocations';

/** Workflow step; the embedded host calls `run` with its own services. */
export const run = verifyRevocations;
export const handler = lambdaHandler(run);
