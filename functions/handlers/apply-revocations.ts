import { signingChainHead } from '../evidence/signing/sign-head';
import { lambdaHandler } from '../runtime/aws';
import { awsConnectorOnLambda } from '../runtime/aws-connector-on-lambda';
import { gitHubOnLambda } from '../runtime/github-on-lambda';
import { signerOnLambda } from '../runtime/signing-on-lambda';
import { applyRevocations } from '../steps/apply-revocations';

/** Workflow step, signing the chain head after it; the embedded host calls `run` with its own services. */
export const run = signingChainHead(applyRevocations);
/** Bundles only what it declares (functions/runtime/aws.ts); matches lib/aws/handlers.ts. */
export const handler = lambdaHandler(run, {
  github: gitHubOnLambda,
  aws: awsConnectorOnLambda,
  signer: signerOnLambda,
});
