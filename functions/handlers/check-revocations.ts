import { lambdaHandler } from '../runtime/aws';
import { gitHubOnLambda } from '../runtime/github-on-lambda';
import { checkRevocations } from '../steps/check-revocations';

/** Workflow step; the embedded host calls `run` with its own services. */
export const run = checkRevocations;
/** Bundles only what it declares (functions/runtime/aws.ts); matches lib/aws/handlers.ts. */
export const handler = lambdaHandler(run, { github: gitHubOnLambda });
