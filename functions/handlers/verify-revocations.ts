import { lambdaHandler } from '../runtime/aws';
import { awsConnectorOnLambda } from '../runtime/aws-connector-on-lambda';
import { gitHubOnLambda } from '../runtime/github-on-lambda';
import { verifyRevocations } from '../steps/verify-revocations';

/** Workflow step; the embedded host calls `run` with its own services. */
export const run = verifyRevocations;
/** Bundles only what it declares (functions/runtime/aws.ts); matches lib/aws/handlers.ts. */
export const handler = lambdaHandler(run, { github: gitHubOnLambda, aws: awsConnectorOnLambda });
