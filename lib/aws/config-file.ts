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
  return parseConfig(document.toJS(), path);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
