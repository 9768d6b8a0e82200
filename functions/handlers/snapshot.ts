import { lambdaHandler } from '../runtime/aws';
import { takeSnapshot } from '../steps/snapshot';

/** Workflow step; the embedded host calls `run` with its own services. */
export const run = takeSnapshot;
export const handler = lambdaHandler(run);
