import { emailOnLambda } from '../email/on-lambda';
import { signingChainHead } from '../evidence/signing/sign-head';
import { archiveOnLambda } from '../runtime/archive-on-lambda';
import { lambdaHandler } from '../runtime/aws';
import { signerOnLambda } from '../runtime/signing-on-lambda';
import { finalizeOrRecordFailure } from '../steps/finalize';

/**
 * Workflow step (Finalize, and the failure path's recorder), signing the chain head after it; the
 * embedded host calls `run` with its own services. Finalize also signs before it archives.
 */
export const run = signingChainHead(finalizeOrRecordFailure);
/** Bundles only what it declares (functions/runtime/aws.ts); matches lib/aws/handlers.ts. */
export const handler = lambdaHandler(run, {
  signer: signerOnLambda,
  archive: archiveOnLambda,
  // The campaign summary and "needs attention" to the security team (functions/email/).
  email: emailOnLambda,
});
