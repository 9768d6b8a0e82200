import { lambdaHandler } from '../runtime/aws';
import { requestRevocationApproval } from '../steps/request-revocation-approval';

/** Workflow step; the embedded host calls `run` with its own services. */
export const run = requestRevocationApproval;
export const handler = lambdaHandler(run);
