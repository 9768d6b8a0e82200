#!/usr/bin/env -S npx tsx
// The CDK app (`npx cdk synth|deploy`, see cdk.json). The config file comes from the context
// value `configFile`: `npx cdk deploy -c configFile=config/access-review.yaml`.
import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../functions/core/errors';
import { STACK_ID } from '../lib/aws/app';
import { loadConfigFile } from '../lib/aws/config-file';
import { AccessReviewStack } from '../lib/aws/stack';

const app = new App();
const configFile: unknown = app.node.tryGetContext('configFile');
if (typeof configFile !== 'string' || configFile === '') {
  throw new Error('context value configFile is missing: pass -c configFile=path/to/access-review.yaml');
}
try {
  // The stack may refuse a valid config too (too large for a Lambda environment).
  new AccessReviewStack(app, STACK_ID, { config: loadConfigFile(resolve(configFile)) });
} catch (error) {
  // The message already lists every bad field; the stack trace and zod's raw issues would bury it.
  if (!(error instanceof ConfigError)) throw error;
  console.error(`${error.name}: ${error.message}`);
  process.exit(1);
}
// cdk-nag 3 is a policy-validation plugin (it dropped Aspects): findings fail the synth unless
// acknowledged on the construct with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
