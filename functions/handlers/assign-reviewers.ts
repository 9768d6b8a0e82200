import { lambdaHandler } from '../runtime/aws';
import { assignReviewers } from '../steps/assign-reviewers';

/** Workflow step; the embedded host calls `run` with its own services. */
export const run = assignReviewers;
export const handler = lambdaHandler(run);
