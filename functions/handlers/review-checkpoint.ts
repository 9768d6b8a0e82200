import { emailOnLambda } from '../email/on-lambda';
import { signingChainHead } from '../evidence/signing/sign-head';
import { lambdaHandler } from '../runtime/aws';
import { signerOnLambda } from '../runtime/signing-on-lambda';
import { slackOnLambda } from '../runtime/slack-on-lambda';
import { reviewCheckpoint } from '../steps/review-checkpoint';

/** Workflow step, signing the chain head after it; the embedded host calls `run` with its own services. */
export const run = signingChainHead(reviewCheckpoint);
/** Bundles only what it declares (functions/runtime/aws.ts); matches lib/aws/handlers.ts. */
export const handler = lambdaHandler(run, {
  slack: slackOnLambda,
  signer: signerOnLambda,
  email: emailOnLambda,
});
