/*
 * The README's picture of the HTML report: runs the demo campaign into a scratch folder, renders
 * its report, and screenshots the top of it at 1200 px wide into docs/report.png.
 *
 *   npx tsx test/support/report-screenshot.ts [--evidence DIR] [--out docs/report.png]
 *
 * Not part of the suite (the demo takes most of a minute); run it when the report's look changes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderReport } from '../../functions/evidence/report/index';
import { launchChromium } from './chromium';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function demoEvidence(scratch: string): Promise<string> {
  const evidenceDir = join(scratch, 'evidence');
  execFileSync(
    'npx',
    [
      'tsx',
      'bin/access-review.ts',
      'demo',
      '--data-dir',
      join(scratch, 'data'),
      '--evidence-dir',
      evidenceDir,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const [campaign] = await readdir(evidenceDir);
  if (!campaign) throw new Error(`the demo wrote no evidence folder under ${evidenceDir}`);
  return join(evidenceDir, campaign);
}

async function main(): Promise<void> {
  const out = resolve(option('--out') ?? 'docs/report.png');
  const scratch = await mkdtemp(join(tmpdir(), 'report-screenshot-'));
  try {
    const evidence = option('--evidence') ?? (await demoEvidence(scratch));
    const file = join(scratch, 'report.html');
    await writeFile(file, await renderReport(evidence));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1400 }, deviceScaleFactor: 1 });
      await page.goto(pathToFileURL(file).href);
      await page.screenshot({ path: out, clip: { x: 0, y: 0, width: 1200, height: 1400 } });
    } finally {
      await browser.close();
    }
    console.log(`${out} from ${evidence}`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
