import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The test table's schema, synthesized once for the whole run. A CDK synth costs about 5 s on 2
 * cores, and two dozen test files start a store; each used to synthesize the same stack for the
 * same keys. The schema still comes from the stack (lib/local/synthesized-workflow.ts), once.
 */
export const TABLE_SCHEMA_VARIABLE = 'ACCESS_REVIEW_TEST_TABLE_SCHEMA';

export default async function setup(): Promise<() => Promise<void>> {
  const { TEST_CONFIG } = await import('./support/local-store');
  const { synthesizeForLocalHost } = await import('../lib/local/synthesized-workflow');
  const dir = await mkdtemp(join(tmpdir(), 'access-review-tests-'));
  const file = join(dir, 'table-schema.json');
  await writeFile(file, JSON.stringify(synthesizeForLocalHost(TEST_CONFIG).table));
  // Workers are forked after this runs and inherit the environment.
  process.env[TABLE_SCHEMA_VARIABLE] = file;
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}
