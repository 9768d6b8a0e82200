/**
 * What each Lambda carries: every handler in the catalogue bundled with esbuild exactly as the
 * stack bundles it (lib/aws/functions.ts `bundlingOptions`, translated to esbuild's JS API the way
 * aws-lambda-nodejs translates it to CLI flags; no Docker), then imported by a fresh `node` N times.
 * Sizes and import times are reported against the smallest bundle measured in the same run; the
 * heavy packages each bundle holds are read from esbuild's metafile.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { bundlingOptions } from '../lib/aws/functions';
import { HANDLERS, type HandlerSpec } from '../lib/aws/handlers';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Imports of each bundle by a fresh process; the median is reported. */
const IMPORTS_PER_BUNDLE = 7;

/** Packages whose presence in a bundle says what the function can do (and what it pays for). */
const HEAVY_PACKAGES: Array<[label: string, pattern: RegExp]> = [
  ['Octokit', /node_modules\/@octokit\//],
  ['Slack', /node_modules\/@slack\//],
  ['zod', /node_modules\/zod\//],
  ['SFN client', /node_modules\/@aws-sdk\/client-sfn\//],
  ['AWS connector', /functions\/connectors\/aws\//],
  ['Powertools', /node_modules\/@aws-lambda-powertools\//],
];

/** The esbuild options aws-lambda-nodejs builds from a function's BundlingOptions (bundling.js buildEsbuildArgs). */
export function esbuildOptionsOf(spec: HandlerSpec, bundling: BundlingOptions, outdir: string): BuildOptions {
  return {
    entryPoints: [spec.entry],
    bundle: true,
    platform: 'node',
    target: bundling.target,
    format: bundling.format === 'esm' ? 'esm' : 'cjs',
    outfile: join(outdir, bundling.format === 'esm' ? 'index.mjs' : 'index.js'),
    minify: bundling.minify ?? false,
    sourcemap: bundling.sourceMap ?? false,
    sourcesContent: bundling.sourcesContent ?? true,
    external: bundling.externalModules ?? [],
    keepNames: bundling.keepNames ?? false,
    banner: bundling.banner ? { js: bundling.banner } : undefined,
    mainFields: bundling.mainFields,
    define: bundling.define,
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: root,
  };
}

interface BundleFigures {
  name: string;
  bytes: number;
  importMs: number;
  carries: string[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Milliseconds a fresh `node` spends in `await import(bundle)`: what a cold start pays before the handler runs. */
function importOnce(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    // The Lambda sets these; a bundle's top level must not need more (no credentials, no network).
    env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', NODE_OPTIONS: '' },
  });
  if (run.status !== 0) throw new Error(`importing ${file} failed: ${run.stderr}`);
  return Number(run.stdout);
}

/** Median import time per bundle; the rounds interleave the bundles, so a busy moment of the machine hits all of them alike. */
function importMedians(files: string[]): number[] {
  const times = files.map(() => [] as number[]);
  for (let round = 0; round < IMPORTS_PER_BUNDLE; round++) {
    for (const [index, file] of files.entries()) times[index]!.push(importOnce(file));
  }
  return times.map(median);
}

function carriedPackages(metafile: Metafile): string[] {
  const inputs = Object.keys(metafile.inputs);
  return HEAVY_PACKAGES.filter(([, pattern]) => inputs.some((input) => pattern.test(input))).map(
    ([label]) => label,
  );
}

export async function bundlesBenchmark(): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'access-review-bundles-'));
  try {
    // External packages (the policy simulator) resolve from the project's node_modules, as they
    // resolve on Lambda from the node_modules installed next to the bundle.
    symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'), 'dir');
    const built: Array<Omit<BundleFigures, 'importMs'> & { file: string }> = [];
    for (const spec of HANDLERS) {
      const outdir = join(work, spec.name);
      mkdirSync(outdir);
      const options = esbuildOptionsOf(spec, bundlingOptions(spec), outdir);
      const result = await build(options);
      const file = options.outfile!;
      built.push({
        name: spec.name,
        file,
        bytes: statSync(file).size,
        carries: carriedPackages(result.metafile!),
      });
    }
    const medians = importMedians(built.map((bundle) => bundle.file));
    const figures: BundleFigures[] = built.map(({ file: _file, ...bundle }, index) => ({
      ...bundle,
      importMs: medians[index]!,
    }));
    const smallest = figures.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}×`;
    const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
    const rows = figures.map(
      (f) =>
        `| ${f.name} | ${kb(f.bytes)} | ${ratio(f.bytes, smallest.bytes)} | ${f.importMs.toFixed(0)} ms | ${ratio(f.importMs, smallest.importMs)} | ${f.carries.join(', ') || '—'} |`,
    );
    const total = figures.reduce((sum, f) => sum + f.bytes, 0);
    return [
      '## Lambda bundles',
      '',
      `Each handler bundled by esbuild with the stack's bundling options (minified ESM, source map beside it), and imported by a fresh \`node\` ${IMPORTS_PER_BUNDLE} times (median of \`await import(bundle)\`: the cold-start cost before the handler runs). Ratios against the smallest bundle, **${smallest.name}** (${kb(smallest.bytes)}, ${smallest.importMs.toFixed(0)} ms). "Carries" lists the heavy packages in the bundle (esbuild metafile). The AWS connector's policy simulator is installed beside the bundles of snapshot, apply and verify (not counted in the size).`,
      '',
      '| function | bundle | × smallest | import (median) | × smallest | carries |',
      '|---|---:|---:|---:|---:|---|',
      ...rows,
      '',
      `All ${figures.length} bundles: ${kb(total)}.`,
    ].join('\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(await bundlesBenchmark());
}
