import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AccessReviewConfig } from '../core/config';
import { ConfigError } from '../core/errors';
import { prototypeKeyPaths, UnsafeRecordError } from '../core/records';

/**
 * How the configuration reaches a Lambda: as a file in the function's own code (written next to
 * the bundle at synth time), not as an environment variable, so its size is bounded only by the
 * code package (the 4 KB environment held about 39 reviewers). Its SHA-256 travels in the
 * environment: the function refuses a file that does not match, and StartCampaign records the
 * hash in the campaign, so evidence says which configuration a campaign ran with.
 */

/** The file's name, in the function's code directory (LAMBDA_TASK_ROOT, `/var/task`). */
export const CONFIG_FILE_NAME = 'access-review.config.json';

/** The environment variable holding the file's SHA-256 (lowercase hex). */
export const CONFIG_SHA256_VARIABLE = 'ACCESS_REVIEW_CONFIG_SHA256';

/** The exact bytes both hosts hash and the stack writes: the parsed config (defaults filled in) as JSON. */
export function configJsonOf(config: AccessReviewConfig): string {
  return JSON.stringify(config);
}

export function sha256Hex(content: string | Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The configuration's hash as recorded in `campaign_started`, the same on both hosts for the same config. */
export function configSha256Of(config: AccessReviewConfig): string {
  return sha256Hex(configJsonOf(config));
}

/**
 * Reads the configuration file as JSON after checking its hash: a missing or unreadable file, a hash
 * that does not match (a file from another build), unreadable JSON and prototype keys are each a
 * ConfigError naming the file. Schema validation is the caller's (parseConfig).
 */
export function readConfigFile(path: string, expectedSha256: string): unknown {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new ConfigError(
      `cannot read the configuration file ${path}`,
      [`${CONFIG_FILE_NAME} must be in the function's code (it is written there at synth time)`],
      { cause: error },
    );
  }
  const actual = sha256Hex(bytes);
  if (actual !== expectedSha256.toLowerCase()) {
    throw new ConfigError(`the configuration file ${path} is not the one this function was deployed with`, [
      `${CONFIG_SHA256_VARIABLE} is ${expectedSha256}, the file's SHA-256 is ${actual}`,
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ConfigError(
      `the configuration file ${path} is not JSON`,
      [`${CONFIG_FILE_NAME} must be a JSON object`],
      {
        cause: error,
      },
    );
  }
  const unsafe = prototypeKeyPaths(value);
  if (unsafe.length > 0) {
    throw new ConfigError(
      `the configuration file ${path} is refused`,
      unsafe.map((key) => `${key} is not an accepted key`),
      { cause: new UnsafeRecordError(CONFIG_FILE_NAME, unsafe) },
    );
  }
  return value;
}
