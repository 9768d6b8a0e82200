import { lambdaHandler } from '../runtime/aws';
import { checkRevocations } from '../steps/check-revocations';

/** Workflow step; the embedded host calls `run` with its own services. */
export const run = checkRevocations;
export const handler = lambdaHandler(run);
