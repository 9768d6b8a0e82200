import { lambdaHandler } from '../runtime/aws';
import { startCampaign } from '../steps/start-campaign';

/** Workflow step; the embedded host calls `run` with its own services. */
export const run = startCampaign;
export const handler = lambdaHandler(run);
