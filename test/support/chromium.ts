import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's chromium (`.ci/run` installs it when missing); CHROMIUM_PATH points elsewhere. Tests
 * launch it once per file: starting a browser costs about a second, a new page almost nothing.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export class ChromiumMissingError extends Error {
  constructor(path: string) {
    super(
      `no chromium at ${path}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`,
    );
    this.name = 'ChromiumMissingError';
  }
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new ChromiumMissingError(CHROMIUM_PATH);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // The sandbox needs user namespaces, which containers (CI, this machine as root) often lack.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}
