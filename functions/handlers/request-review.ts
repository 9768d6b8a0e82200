import { lambdaHandler } from '../runtime/aws';
import { requestReview } from '../steps/request-review';

/** Workflow step; the embedded host calls `run` with its own services. */
export const run = requestReview;
export const handler = lambdaHandler(run);
