/**
 * CSV formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that begins with `=`,
 * `+`, `-`, `@`, a tab or a carriage return as a formula, so a principal named
 * `=HYPERLINK(…)` would become a live link in the auditor's spreadsheet. Every evidence CSV cell
 * that begins with one of those is written with a leading `'`, which spreadsheets show as text.
 * A cell that already begins with `'` gets one more, so the rule can be undone exactly: drop one
 * leading `'` from any cell that has one. Hashes and digests (content_sha256, the snapshot and
 * assignment digests) are of the values before this rule, so verification undoes it first.
 */
const TRIGGERS = new Set(['=', '+', '-', '@', '\t', '\r']);
const QUOTE = "'";

/** The cell as written to an evidence CSV. */
export function neutraliseCell(value: string): string {
  const first = value[0];
  return first !== undefined && (first === QUOTE || TRIGGERS.has(first)) ? `${QUOTE}${value}` : value;
}

/** The value a written cell stands for (the inverse of neutraliseCell on everything it writes). */
export function restoreCell(cell: string): string {
  return cell.startsWith(QUOTE) ? cell.slice(1) : cell;
}

/**
 * Whether a cell read from an evidence CSV is one neutraliseCell could have written: no cell
 * begins with a trigger, and a leading `'` is always followed by a trigger or another `'`.
 */
export function isNeutralisedCell(cell: string): boolean {
  const first = cell[0];
  if (first === undefined) return true;
  if (TRIGGERS.has(first)) return false;
  if (first !== QUOTE) return true;
  const second = cell[1];
  return second !== undefined && (second === QUOTE || TRIGGERS.has(second));
}

/** A row's cells as the writer sends them to csv-stringify: text, empty for null or undefined. */
export function neutraliseRow(row: readonly unknown[]): string[] {
  return row.map((cell) =>
    cell === undefined || cell === null ? '' : neutraliseCell(typeof cell === 'string' ? cell : String(cell)),
  );
}
