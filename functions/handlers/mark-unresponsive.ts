import { lambdaHandler } from '../runtime/aws';
import { markUnresponsive } from '../steps/mark-unresponsive';

/** Workflow step; the embedded host calls `run` with its own services. */
export const run = markUnresponsive;
export const handler = lambdaHandler(run);
