import { readSummary } from './input';
import { buildModel } from './model';
import { renderPage } from './render';

export { ReportInputError } from './input';
export { REPORT_VERSION } from './render';

/** The report's file name in an evidence folder (listed in the manifest like every other file). */
export const REPORT_FILE = 'report.html';

/**
 * The campaign's HTML report, built from the evidence folder's own files (summary.json,
 * reviewers.csv, decisions.csv, revocations.csv, events.jsonl; never manifest.json, which lists
 * the report). Deterministic: the same files give the same bytes, so verify-evidence can render it
 * again and compare. Streams every file; memory does not grow with the number of grants.
 * Throws ReportInputError (named file, cause) when a file is missing or unreadable.
 */
export async function renderReport(evidenceDir: string): Promise<string> {
  const summary = await readSummary(evidenceDir);
  const model = await buildModel(evidenceDir, summary);
  return renderPage(model);
}
