#!/usr/bin/env -S npx tsx
// The CDK app (`npx cdk synth|deploy`, see cdk.json). The config file comes from the context
// value `configFile`: `npx cdk deploy -c configFile=config/access-review.yaml`.
//
// With `-c memberAccount=<12 digits> -c hubAccountId=<12 digits>` it builds, instead of the
// access-review stack, the roles one member account must deploy (AccessReviewMemberRoles), named
// and scoped from that account's entry in the same config file:
//   npx cdk deploy -c memberAccount=444455556666 -c hubAccountId=111122223333 \
//     -c configFile=config/access-review.yaml        (with the member account's credentials)
import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../functions/core/errors';
import { STACK_ID } from '../lib/aws/app';
import { loadConfigFile } from '../lib/aws/config-file';
import {
  AccessReviewMemberAccountStack,
  MEMBER_STACK_ID,
  memberRolesFromConfig,
} from '../lib/aws/member-account-stack';
import { AccessReviewStack } from '../lib/aws/stack';

const app = new App();
const configFile: unknown = app.node.tryGetContext('configFile');
if (typeof configFile !== 'string' || configFile === '') {
  // No default on purpose: a deploy without one would review someone else's organisation (the
  // example's) on a live schedule.
  console.error(
    [
      'access-review needs your configuration file; there is no default.',
      '  npx cdk deploy -c configFile=config/access-review.yaml',
      '(start from config/access-review.example.yaml; `npx cdk synth -c configFile=…` checks it without deploying)',
    ].join('\n'),
  );
  process.exit(1);
}
try {
  const config = loadConfigFile(resolve(configFile));
  const memberAccount = accountContext('memberAccount');
  if (memberAccount === undefined) {
    new AccessReviewStack(app, STACK_ID, { config });
  } else {
    const hubAccountId = accountContext('hubAccountId');
    if (hubAccountId === undefined) {
      throw new ConfigError('a member account deployment needs the hub account', [
        '-c hubAccountId=<the 12-digit account the access-review stack runs in>',
      ]);
    }
    new AccessReviewMemberAccountStack(app, MEMBER_STACK_ID, {
      // IAM is global; the region only decides where the CloudFormation stack lives.
      env: { account: memberAccount, region: process.env.CDK_DEFAULT_REGION },
      roles: memberRolesFromConfig(config, memberAccount, hubAccountId),
    });
  }
} catch (error) {
  // The message already lists every bad field; the stack trace and zod's raw issues would bury it.
  if (!(error instanceof ConfigError)) throw error;
  console.error(`${error.name}: ${error.message}`);
  process.exit(1);
}
// cdk-nag 3 is a policy-validation plugin (it dropped Aspects): findings fail the synth unless
// acknowledged on the construct with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

/** A 12-digit account id from the context, or undefined when the value is not given. */
function accountContext(name: string): string | undefined {
  const value: unknown = app.node.tryGetContext(name);
  if (value === undefined || value === '') return undefined;
  const text = String(value);
  if (!/^\d{12}$/.test(text)) {
    throw new ConfigError(`context value ${name} is invalid`, [
      `${name}: "${text}" is not a 12-digit AWS account id`,
    ]);
  }
  return text;
}
