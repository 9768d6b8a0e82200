import { lambdaHandler } from '../runtime/aws';
import { finalizeCampaign } from '../steps/finalize';

/** Workflow step; the embedded host calls `run` with its own services. */
export const run = finalizeCampaign;
export const handler = lambdaHandler(run);
