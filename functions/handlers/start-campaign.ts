import { signingChainHead } from '../evidence/signing/sign-head';
import { lambdaHandler } from '../runtime/aws';
import { signerOnLambda } from '../runtime/signing-on-lambda';
import { startCampaign } from '../steps/start-campaign';

/** Workflow step, signing the chain head after it; the embedded host calls `run` with its own services. */
export const run = signingChainHead(startCampaign);
/** Bundles only what it declares (functions/runtime/aws.ts); matches lib/aws/handlers.ts. */
export const handler = lambdaHandler(run, { signer: signerOnLambda });
