import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config';

/**
 * The suite as Stryker runs it for `npm run mutate` (stryker.config.mjs). Stryker runs one test
 * worker and re-runs, for every mutant, the files of the tests that cover it: the end-to-end
 * campaign (test/e2e) and the CDK tests (test/lib, which cover nothing Stryker mutates) would
 * rebuild a whole campaign or synthesize the stack for each mutant, so they are left to
 * `npm test`. Stryker reads the results itself, so the summary reporter is left out.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    exclude: [...configDefaults.exclude, 'test/e2e/**', 'test/lib/**', '.stryker-tmp/**'],
    reporters: ['dot'],
  },
});
