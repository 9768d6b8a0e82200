import { signingChainHead } from '../evidence/signing/sign-head';
import { lambdaHandler } from '../runtime/aws';
import { gitHubOnLambda } from '../runtime/github-on-lambda';
import { signerOnLambda } from '../runtime/signing-on-lambda';
import { checkRevocations } from '../steps/check-revocations';

/** Workflow step, signing the chain head after it; the embedded host calls `run` with its own services. */
export const run = signingChainHead(checkRevocations);
/** Bundles only what it declares (functions/runtime/aws.ts); matches lib/aws/handlers.ts. */
export const handler = lambdaHandler(run, { github: gitHubOnLambda, signer: signerOnLambda });
