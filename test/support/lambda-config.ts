import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONFIG_FILE_NAME,
  CONFIG_SHA256_VARIABLE,
  configJsonOf,
  sha256Hex,
} from '../../functions/runtime/config-file';

/**
 * What a deployed function finds about its configuration, for tests that run a Lambda handler
 * in-process: `access-review.config.json` in a fresh code directory (LAMBDA_TASK_ROOT) and its
 * SHA-256 in the environment, exactly as lib/aws/functions.ts delivers them. `text` overrides the
 * file's content (a tampered or malformed file); the hash is then of that text unless `sha256` is
 * given too. Returns the variables to put in process.env.
 */
export function lambdaConfigEnvironment(
  config: unknown,
  options: { text?: string; sha256?: string } = {},
): Record<string, string> {
  const root = mkdtempSync(join(tmpdir(), 'access-review-task-'));
  const text = options.text ?? configJsonOf(config as Parameters<typeof configJsonOf>[0]);
  writeFileSync(join(root, CONFIG_FILE_NAME), text);
  return { LAMBDA_TASK_ROOT: root, [CONFIG_SHA256_VARIABLE]: options.sha256 ?? sha256Hex(text) };
}
