import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { generatedConfig } from '../../bench/config-load';
import {
  CONFIG_FILE_NAME,
  CONFIG_SHA256_VARIABLE,
  configJsonOf,
  sha256Hex,
} from '../../functions/runtime/config-file';
import { EvidenceBucket } from '../../lib/aws/evidence-bucket';
import { bundlingOptions, HandlerFunctions } from '../../lib/aws/functions';
import { HANDLERS, handlerSpec } from '../../lib/aws/handlers';
import { VendorCredentials } from '../../lib/aws/secrets';
import { SigningKey } from '../../lib/aws/signing-key';

/**
 * The configuration reaches each function as a file in its code package, of any size, with its
 * SHA-256 in the environment (functions/runtime/config-file.ts); and `cdk synth|deploy` refuses to
 * run without an explicit configuration file.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'access-review-delivery-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('configuration delivery', () => {
  it('a company of 5,000 people and 2,000 routing rules synthesizes; each function gets the hash, the bundle the file', {
    timeout: 60_000,
  }, () => {
    const config = generatedConfig(5_000, 2_000);
    const json = configJsonOf(config);
    expect(Buffer.byteLength(json)).toBeGreaterThan(400 * 1024);
    // The functions alone, in a stack with just what they need: the whole stack costs seconds more.
    const app = new App({
      // As cdk.json sets it: access logs are delivered by bucket policy, not by an ACL.
      context: { 'aws:cdk:bundling-stacks': [], '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true },
      outdir: join(work, 'cdk.out'),
    });
    const stack = new Stack(app, 'ConfigDelivery');
    const encryptionKey = new Key(stack, 'Key');
    new HandlerFunctions(stack, 'Functions', {
      config,
      table: new Table(stack, 'Table', { partitionKey: { name: 'pk', type: AttributeType.STRING } }),
      encryptionKey,
      credentials: new VendorCredentials(stack, 'Credentials', { encryptionKey }),
      signingKey: new SigningKey(stack, 'Signing'),
      evidenceBucket: new EvidenceBucket(stack, 'Evidence', { retentionDays: config.evidence.retentionDays }),
    });
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    const sha256 = sha256Hex(json);
    const handlerFunctions = Object.values(functions).filter(
      (fn) => (fn.Properties as { Environment?: unknown }).Environment !== undefined,
    );
    expect(handlerFunctions).toHaveLength(HANDLERS.length);
    for (const fn of handlerFunctions) {
      const variables = (fn.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment
        .Variables;
      expect(variables[CONFIG_SHA256_VARIABLE]).toBe(sha256);
      expect(variables).not.toHaveProperty('ACCESS_REVIEW_CONFIG');
      // Lambda's limit is 4 KB for the whole environment; the configuration no longer counts.
      expect(Buffer.byteLength(JSON.stringify(variables))).toBeLessThan(2048);
    }
    // Staged by hash in the cloud assembly, where the bundling hook copies it from.
    const staged = join(app.outdir, 'access-review-config', `${sha256}.json`);
    expect(readFileSync(staged, 'utf8')).toBe(json);
  });

  it.each(['start-campaign', 'snapshot'] as const)(
    'the afterBundling hook of %s (with and without the policy simulator) copies the file into the bundle',
    (name) => {
      const directory = join(work, `it's ${name}`);
      const output = join(directory, 'asset output');
      mkdirSync(output, { recursive: true });
      const source = join(directory, 'staged "config".json');
      writeFileSync(source, '{"github":{"organization":"acme"}}');
      const hooks = bundlingOptions(handlerSpec(name), source).commandHooks!;
      const commands = hooks.afterBundling(root, output);
      // The copy comes first; the simulator's probe (snapshot) would need `npm ci` to have run.
      const copied = spawnSync('bash', ['-c', commands[0]!], { encoding: 'utf8' });
      expect(copied.stderr).toBe('');
      expect(copied.status).toBe(0);
      expect(readFileSync(join(output, CONFIG_FILE_NAME), 'utf8')).toBe('{"github":{"organization":"acme"}}');
      expect(commands.length).toBe(name === 'snapshot' ? 2 : 1);
    },
  );

  it('without a configuration file no hook is added to handlers that need none', () => {
    expect(bundlingOptions(handlerSpec('start-campaign')).commandHooks).toBeUndefined();
  });
});

describe('bin/app.ts', () => {
  it('refuses to synthesize without -c configFile: a clear message, exit 1, no stack trace', () => {
    const outdir = join(work, 'no-config');
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bin/app.ts')], {
      cwd: root,
      encoding: 'utf8',
      // What the CDK CLI passes: cdk.json's context (which names no configFile) and an output directory.
      env: { ...process.env, CDK_CONTEXT_JSON: '{}', CDK_OUTDIR: outdir },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('access-review needs your configuration file; there is no default.');
    expect(run.stderr).toContain('-c configFile=');
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(join(outdir, 'manifest.json'))).toBe(false);
  }, 60_000);
});
