import { signingChainHead } from '../evidence/signing/sign-head';
import { lambdaHandler } from '../runtime/aws';
import { signerOnLambda } from '../runtime/signing-on-lambda';
import { awaitReview } from '../steps/await-review';

/**
 * Workflow step, signing the chain head after it: the Slack endpoint never signs, so each new
 * stretch of a reviewer's wait signs the decisions recorded since. The embedded host calls `run`.
 */
export const run = signingChainHead(awaitReview);
/** Bundles only what it declares (functions/runtime/aws.ts); matches lib/aws/handlers.ts. */
export const handler = lambdaHandler(run, { signer: signerOnLambda });
