// @ts-check
/**
 * Mutation testing: `npm run mutate` (not part of `npm test`) runs the `stryker` command of
 * @stryker-mutator/core with this file; the options' type comes from @stryker-mutator/api and the
 * test runner from @stryker-mutator/vitest-runner. Stryker changes one thing at a time
 * in the core modules (an operator, a condition, a string) and runs the tests that cover it; a
 * change no test notices ("survived") is a gap in the tests. Incremental: results are kept in
 * reports/stryker-incremental.json (committed), so a later run only re-tests mutants whose code or
 * covering tests changed. `npx stryker run --mutate functions/store/events.ts` runs one file.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    'functions/core/**/*.ts',
    'functions/store/**/*.ts',
    'functions/steps/**/*.ts',
    'functions/evidence/**/*.ts',
    'functions/connectors/**/*.ts',
    // Re-exports only: nothing to mutate.
    '!functions/connectors/*/index.ts',
  ],
  coverageAnalysis: 'perTest',
  // Code reached only from a beforeAll hook (a campaign set up for a file's tests) counts as
  // "static" for Stryker, which would re-run the whole suite for each such mutant: those are
  // reported as ignored instead. Mutants also reached inside a test still run, with that test.
  ignoreStatic: true,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  // Two cores: each worker runs vitest with one test thread, and the integration tests start
  // dynalite and the sandboxes inside it.
  concurrency: 2,
  timeoutMS: 15_000,
  timeoutFactor: 2,
  thresholds: { high: 90, low: 80, break: null },
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
