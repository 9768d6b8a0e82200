/*
 * Text helpers for the report. Everything here is a pure function of its input: no locale, no
 * clock, no time zone (Intl and toLocaleString depend on the machine, and verify-evidence compares
 * the report byte for byte with what the export wrote on another machine).
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * A value as HTML text, safe in element content and in a quoted attribute. Every value that comes
 * from the evidence goes through this: a principal named `<img src=x onerror=…>` is a name.
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** `12,345` whatever the machine's locale. */
export function formatCount(value: number): string {
  const text = String(Math.trunc(Math.abs(value)));
  const grouped = text.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return value < 0 ? `-${grouped}` : grouped;
}

/** `2026-12-02 04:33 UTC` from an ISO timestamp; other text as it is, '' as an en dash. */
export function formatTime(value: string | null | undefined): string {
  if (!value) return '–';
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?(\.\d+)?Z$/.exec(value);
  return match ? `${match[1]} ${match[2]} UTC` : value;
}

/** The same, to the second (for events close together). */
export function formatTimeSeconds(value: string | null | undefined): string {
  if (!value) return '–';
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?Z$/.exec(value);
  return match ? `${match[1]} ${match[2]} UTC` : value;
}

/**
 * At most `limit` characters (code points, so a surrogate pair is never cut), then an ellipsis and
 * where the whole text is. Long cells (an IAM policy edit's explanation runs to a page) would
 * otherwise swamp the table; the CSV keeps every character.
 */
export function truncate(value: string, limit: number, whereInFull: string): string {
  const points = Array.from(value);
  if (points.length <= limit) return value;
  return `${points.slice(0, limit).join('')}… (in full in ${whereInFull})`;
}

/** `1 grant`, `2 grants`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

/** A percentage with no decimals, `0%` of nothing. */
export function percent(part: number, whole: number): string {
  if (whole <= 0) return '0%';
  return `${Math.floor((part * 100) / whole)}%`;
}
