/**
 * What a cold start pays for the configuration: a fresh `node` imports the config modules, reads
 * access-review.config.json, checks its SHA-256 and runs parseConfig (zod schema and cross-field
 * checks), as functions/runtime/aws.ts does once per container. A generated company of 5,000 people
 * and 2,000 routing rules against the documented example, both measured in the same run; also the
 * size of each file and the time to synthesize the stack's functions (HandlerFunctions) with it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { parse } from 'yaml';
import { type AccessReviewConfig, parseConfig } from '../functions/core/config';
import { configJsonOf, sha256Hex } from '../functions/runtime/config-file';

const root = fileURLToPath(new URL('..', import.meta.url));
const examplePath = join(root, 'config', 'access-review.example.yaml');

/** Cold loads per file; the median is reported. */
const LOADS = 7;

/**
 * A company of `people` people and `rules` routing rules: owners of repositories, teams and the
 * organisation, each reviewer listed in people (parseConfig checks that), and three fallbacks.
 */
export function generatedConfig(people: number, rules: number): AccessReviewConfig {
  const login = (i: number) => `person-${String(i).padStart(5, '0')}`;
  const owners = Array.from({ length: rules }, (_, i) => {
    const reviewer = login((i * 7) % people);
    if (i === 0) return { resource: 'acme', resourceType: 'organization', reviewer };
    return i % 4 === 0
      ? { resource: `acme/team-${String(i).padStart(5, '0')}`, resourceType: 'team', reviewer }
      : { resource: `acme/repo-${String(i).padStart(5, '0')}`, resourceType: 'repository', reviewer };
  });
  return parseConfig({
    github: { organization: 'acme' },
    routing: { owners, teamMaintainersReview: true, fallbackReviewers: [login(0), login(1), login(2)] },
    people: Array.from({ length: people }, (_, i) => ({
      github: login(i),
      email: `${login(i)}@acme.example`,
    })),
    review: { windowHours: 336 },
    schedule: { timezone: 'Australia/Sydney' },
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The code a function runs to load its configuration (readConfigFile + parseConfig and what they
 * import: zod, the schema), bundled and minified as the stack bundles handlers.
 */
async function bundleLoader(work: string): Promise<string> {
  const outfile = join(work, 'loader.mjs');
  await build({
    stdin: {
      contents: `export { readConfigFile } from './functions/runtime/config-file';\nexport { parseConfig } from './functions/core/config';`,
      resolveDir: root,
      sourcefile: 'loader.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    keepNames: true,
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

/** One cold load in a fresh `node`: milliseconds for the import, and for read + hash check + JSON + parseConfig. */
function coldLoad(loader: string, file: string, sha256: string): { importMs: number; loadMs: number } {
  const script = `
    const t0 = performance.now();
    const { readConfigFile, parseConfig } = await import(${JSON.stringify(pathToFileURL(loader).href)});
    const t1 = performance.now();
    parseConfig(readConfigFile(${JSON.stringify(file)}, ${JSON.stringify(sha256)}));
    const t2 = performance.now();
    process.stdout.write(JSON.stringify({ importMs: t1 - t0, loadMs: t2 - t1 }));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`loading ${file} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { importMs: number; loadMs: number };
}

/** Milliseconds to build the stack's functions (bundling skipped, as the tests do) with this config. */
async function synthMs(config: AccessReviewConfig): Promise<number> {
  const { createInProcessApp } = await import('../lib/aws/app');
  const { Template } = await import('aws-cdk-lib/assertions');
  const started = performance.now();
  const { stack } = createInProcessApp({ config });
  Template.fromStack(stack);
  return performance.now() - started;
}

export async function configLoadBenchmark(): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'access-review-config-load-'));
  try {
    const loader = await bundleLoader(work);
    const cases = [
      {
        name: 'example (config/access-review.example.yaml)',
        config: parseConfig(parse(await readText(examplePath))),
      },
      { name: 'generated: 5,000 people, 2,000 routing rules', config: generatedConfig(5_000, 2_000) },
    ].map((entry, index) => {
      const json = configJsonOf(entry.config);
      const file = join(work, `config-${index}.json`);
      writeFileSync(file, json);
      return { ...entry, file, bytes: Buffer.byteLength(json), sha256: sha256Hex(json) };
    });
    // Interleaved, so a busy moment of the machine hits both alike.
    const loads = cases.map(() => ({ importMs: [] as number[], loadMs: [] as number[] }));
    for (let round = 0; round < LOADS; round++) {
      for (const [index, entry] of cases.entries()) {
        const { importMs, loadMs } = coldLoad(loader, entry.file, entry.sha256);
        loads[index]!.importMs.push(importMs);
        loads[index]!.loadMs.push(loadMs);
      }
    }
    // The first synth of a process also pays for loading and compiling aws-cdk-lib: not counted.
    await synthMs(cases[0]!.config);
    const figures = [];
    for (const [index, entry] of cases.entries()) {
      figures.push({
        ...entry,
        importMs: median(loads[index]!.importMs),
        loadMs: median(loads[index]!.loadMs),
        synthMs: await synthMs(entry.config),
      });
    }
    const base = figures[0]!;
    const ratio = (value: number, of: number) => `${(value / of).toFixed(2)}×`;
    const rows = figures.map(
      (f) =>
        `| ${f.name} | ${(f.bytes / 1024).toFixed(0)} KB | ${f.importMs.toFixed(0)} ms | ${f.loadMs.toFixed(1)} ms | ${ratio(f.loadMs, base.loadMs)} | ${(f.importMs + f.loadMs).toFixed(0)} ms | ${ratio(f.importMs + f.loadMs, base.importMs + base.loadMs)} | ${(f.synthMs / 1000).toFixed(1)} s |`,
    );
    return [
      '## Configuration at cold start',
      '',
      `The configuration travels as a file in each function's code (its SHA-256 in the environment), so its size has no 4 KB limit. A fresh \`node\` imports the loading code (readConfigFile + parseConfig with zod, bundled and minified like a handler), then reads the file, checks its hash and parses it (zod schema and cross-field checks), ${LOADS} times per file, interleaved (median). "load" is read + hash + JSON + parseConfig; "cold total" adds the import. Synth: the whole stack built in-process with that configuration (bundling skipped; after one warm-up synth), one run each. Load average during the run: ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores.`,
      '',
      '| configuration | file | imports | load | × example | cold total | × example | synth |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows,
    ].join('\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function readText(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(path, 'utf8');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(await configLoadBenchmark());
}
