import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { HANDLERS, type HandlerSpec } from '../../../lib/aws/handlers';

/**
 * A function carries only what it uses: each handler declares its heavy clients (capabilities in
 * functions/runtime/), and its bundle must hold exactly the ones its catalogue entry grants it
 * permissions for (lib/aws/handlers.ts), and none of the packages behind the others. Read from
 * esbuild's metafile of every handler entry, bundled as the stack bundles them (node_modules left
 * as imports here, to keep this fast; bench/bundles.ts measures the real bundles).
 */

const root = fileURLToPath(new URL('../../..', import.meta.url));

const CAPABILITIES = {
  github: { module: 'functions/runtime/github-on-lambda.ts', packages: /^@octokit\// },
  aws: { module: 'functions/runtime/aws-connector-on-lambda.ts', packages: /^@cloud-copilot\// },
  slack: { module: 'functions/runtime/slack-on-lambda.ts', packages: /^@slack\/web-api$/ },
  tasks: { module: 'functions/runtime/step-functions-on-lambda.ts', packages: /^@aws-sdk\/client-sfn$/ },
  signer: { module: 'functions/runtime/signing-on-lambda.ts', packages: /^@aws-sdk\/client-kms$/ },
  archive: { module: 'functions/runtime/archive-on-lambda.ts', packages: /^@aws-sdk\/client-s3$/ },
} as const;
type Capability = keyof typeof CAPABILITIES;

/** What the catalogue grants a handler, in capabilities. */
function granted(spec: HandlerSpec): Capability[] {
  const result: Capability[] = [];
  if (spec.secrets.includes('github')) result.push('github');
  if (spec.awsRoles !== 'none') result.push('aws');
  if (spec.secrets.includes('slack')) result.push('slack');
  if (spec.completesReviewTasks) result.push('tasks');
  if (spec.signsChain) result.push('signer');
  if (spec.archivesEvidence) result.push('archive');
  return result.sort();
}

async function bundleContents(): Promise<Map<string, { sources: string[]; packages: string[] }>> {
  const result = await build({
    entryPoints: Object.fromEntries(HANDLERS.map((spec) => [spec.name, spec.entry])),
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outdir: join(root, 'cdk.out', 'capabilities-test'),
    logLevel: 'silent',
  });
  const contents = new Map<string, { sources: string[]; packages: string[] }>();
  for (const output of Object.values(result.metafile.outputs)) {
    const spec = HANDLERS.find(
      (candidate) => output.entryPoint && resolve(root, output.entryPoint) === candidate.entry,
    );
    if (!spec) continue;
    contents.set(spec.name, {
      sources: Object.keys(output.inputs).map((input) => resolve(root, input)),
      packages: output.imports.filter((entry) => entry.external).map((entry) => entry.path),
    });
  }
  return contents;
}

describe('handler capabilities against the catalogue', async () => {
  const contents = await bundleContents();

  it.each(HANDLERS.map((spec) => [spec.name, spec] as const))(
    '%s bundles exactly the clients its catalogue entry grants',
    (name, spec) => {
      const bundle = contents.get(name)!;
      const present = (Object.keys(CAPABILITIES) as Capability[])
        .filter((capability) => bundle.sources.includes(join(root, CAPABILITIES[capability].module)))
        .sort();
      expect(present).toEqual(granted(spec));
      for (const capability of Object.keys(CAPABILITIES) as Capability[]) {
        if (present.includes(capability)) continue;
        expect(
          bundle.packages.filter((path) => CAPABILITIES[capability].packages.test(path)),
          `${name} must not import the packages behind ${capability}`,
        ).toEqual([]);
      }
      if (!present.includes('github')) {
        expect(bundle.sources.some((file) => file.includes('/functions/connectors/github/'))).toBe(false);
      }
      if (!present.includes('aws')) {
        expect(bundle.sources.some((file) => file.includes('/functions/connectors/aws/'))).toBe(false);
      }
      // The signers and the archive behind them come only with their capability.
      if (!present.includes('signer')) {
        expect(bundle.sources).not.toContain(join(root, 'functions/evidence/signing/kms.ts'));
      }
      if (!present.includes('archive')) {
        expect(bundle.sources).not.toContain(join(root, 'functions/evidence/archive/s3.ts'));
      }
    },
  );
});
