import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { type AccessReviewConfig, parseConfig } from '../../functions/core/config';
import { ConfigError } from '../../functions/core/errors';

/**
 * Reads the YAML configuration the stack is built from. Every problem surfaces as a ConfigError
 * that lists each bad field (or each YAML syntax error with its line), so a bad file stops
 * `cdk synth` before anything is deployed.
 */
export function loadConfigFile(path: string): AccessReviewConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read configuration file ${path}`, [errorMessage(error)], { cause: error });
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      `${path} is not valid YAML`,
      document.errors.map((error) => error.message.split('\n')[0] ?? error.code),
    );
  }
  let value: unknown;
  try {
    // Aliases are resolved here: an unknown one, or one that expands without bound, throws.
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError(`${path} is not valid YAML`, [errorMessage(error)], { cause: error });
  }
  return parseConfig(value, path);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
