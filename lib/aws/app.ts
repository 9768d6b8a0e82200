import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import type { AccessReviewConfig } from '../../functions/core/config';
import { AccessReviewStack } from './stack';

/** The stack's construct id, and so its CloudFormation stack name. */
export const STACK_ID = 'AccessReview';

const cdkJsonPath = new URL('../../cdk.json', import.meta.url);

/**
 * The `context` of cdk.json (feature flags and the default config file). The CDK CLI passes it to
 * bin/app.ts; in-process synths (tests, the local host) read it here so that they build exactly
 * the template `cdk synth` builds.
 */
export function cdkJsonContext(): Record<string, unknown> {
  const parsed: unknown = JSON.parse(readFileSync(cdkJsonPath, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || !('context' in parsed)) return {};
  const { context } = parsed;
  return typeof context === 'object' && context !== null ? { ...context } : {};
}

export interface InProcessSynthOptions {
  config: AccessReviewConfig;
  /** Skip esbuild bundling (tests and the local host never deploy the assets). Default true. */
  skipBundling?: boolean;
  /** Where the cloud assembly is written; a fresh temporary directory when omitted. */
  outdir?: string;
}

/** An App with cdk.json's context and the AccessReview stack, for synthesizing without the CLI. */
export function createInProcessApp(options: InProcessSynthOptions): { app: App; stack: AccessReviewStack } {
  const context: Record<string, unknown> = { ...cdkJsonContext() };
  if (options.skipBundling ?? true) context['aws:cdk:bundling-stacks'] = [];
  const app = new App({ context, ...(options.outdir ? { outdir: options.outdir } : {}) });
  const stack = new AccessReviewStack(app, STACK_ID, { config: options.config });
  return { app, stack };
}
