import { lambdaHandler } from '../runtime/aws';
import { slackOnLambda } from '../runtime/slack-on-lambda';
import { requestReview } from '../steps/request-review';

/** Workflow step; the embedded host calls `run` with its own services. */
export const run = requestReview;
/** Bundles only what it declares (functions/runtime/aws.ts); matches lib/aws/handlers.ts. */
export const handler = lambdaHandler(run, { slack: slackOnLambda });
