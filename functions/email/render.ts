/**
 * Email bodies as a small document (headings, paragraphs, fact lists, tables, lists) rendered twice:
 * as plain text and as simple, accessible HTML (one column, real headings, tables with header
 * cells and captions, no images, no colour that carries meaning, no scripts, no links). Every
 * string is data: grant names, logins, resources and reasons come from GitHub, AWS and people, and a
 * hostile one must stay text inside its own element (the property test renders arbitrary strings).
 */

export type Block =
  | { kind: 'heading'; text: string }
  | { kind: 'paragraph'; text: string }
  /** Label and value pairs (campaign, counts). */
  | { kind: 'facts'; rows: ReadonlyArray<readonly [string, string | number]> }
  | {
      kind: 'table';
      caption: string;
      columns: readonly string[];
      rows: ReadonlyArray<readonly string[]>;
      /** Rows left out to keep the email small; said under the table. */
      omitted?: number;
    }
  | { kind: 'list'; items: readonly string[] };

export interface EmailDocument {
  /** The subject and the HTML title. */
  title: string;
  blocks: readonly Block[];
  /** Why the reader got this email and where the full record is. */
  footer: string;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** The most rows a table shows; the evidence pack has all of them. */
export const MAX_TABLE_ROWS = 100;

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Characters that must not reach a reader as they are: control characters (a newline in a grant
 * name would start a line of its own in the text part, looking like ours), and the bidirectional
 * overrides and isolates that make text display in another order than it is stored.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** One line of text: unsafe characters become spaces. */
export function plain(value: string | number): string {
  return String(value).replace(UNSAFE_CHARACTERS, ' ');
}

/** Text as HTML character data or a quoted attribute value: nothing in it can open or close markup. */
export function escapeHtml(value: string | number): string {
  return plain(value).replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
}

/** At most MAX_TABLE_ROWS rows, and how many were left out. */
export function capRows<T>(rows: readonly T[], max = MAX_TABLE_ROWS): { rows: T[]; omitted: number } {
  return { rows: rows.slice(0, max), omitted: Math.max(0, rows.length - max) };
}

export function renderEmail(document: EmailDocument): RenderedEmail {
  return { subject: plain(document.title), text: renderText(document), html: renderHtml(document) };
}

function renderText(document: EmailDocument): string {
  const lines: string[] = [plain(document.title), '='.repeat(Math.min(plain(document.title).length, 72)), ''];
  for (const block of document.blocks) {
    switch (block.kind) {
      case 'heading':
        lines.push(plain(block.text), '-'.repeat(Math.min(plain(block.text).length, 72)));
        break;
      case 'paragraph':
        lines.push(plain(block.text));
        break;
      case 'facts': {
        const width = Math.max(...block.rows.map(([label]) => plain(label).length), 0);
        for (const [label, value] of block.rows)
          lines.push(`  ${`${plain(label)}:`.padEnd(width + 2)}${plain(value)}`);
        break;
      }
      case 'table':
        lines.push(`${plain(block.caption)} (${block.columns.map(plain).join(' | ')})`);
        for (const row of block.rows) lines.push(`  - ${row.map(plain).join(' | ')}`);
        if (block.omitted) lines.push(`  … and ${block.omitted} more (in the evidence pack)`);
        break;
      case 'list':
        for (const item of block.items) lines.push(`  - ${plain(item)}`);
        break;
    }
    lines.push('');
  }
  lines.push('--', plain(document.footer), '');
  return lines.join('\n');
}

const FONT = "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif";
const CELL = 'border:1px solid #8a8a8a;padding:6px 8px;text-align:left;vertical-align:top';

function renderHtml(document: EmailDocument): string {
  const parts: string[] = [];
  for (const block of document.blocks) {
    switch (block.kind) {
      case 'heading':
        parts.push(`<h2 style="font-size:18px;margin:24px 0 8px">${escapeHtml(block.text)}</h2>`);
        break;
      case 'paragraph':
        parts.push(`<p style="margin:0 0 12px">${escapeHtml(block.text)}</p>`);
        break;
      case 'facts':
        parts.push(
          '<table role="presentation" style="border-collapse:collapse;margin:0 0 12px">',
          ...block.rows.map(
            ([label, value]) =>
              `<tr><th scope="row" style="text-align:left;padding:2px 16px 2px 0;font-weight:600">${escapeHtml(label)}</th><td style="padding:2px 0">${escapeHtml(value)}</td></tr>`,
          ),
          '</table>',
        );
        break;
      case 'table':
        parts.push(
          '<table style="border-collapse:collapse;width:100%;margin:0 0 12px">',
          `<caption style="text-align:left;font-weight:600;padding:0 0 4px">${escapeHtml(block.caption)}</caption>`,
          `<thead><tr>${block.columns.map((column) => `<th scope="col" style="${CELL};background:#f0f0f0">${escapeHtml(column)}</th>`).join('')}</tr></thead>`,
          '<tbody>',
          ...block.rows.map(
            (row) => `<tr>${row.map((cell) => `<td style="${CELL}">${escapeHtml(cell)}</td>`).join('')}</tr>`,
          ),
          '</tbody>',
          '</table>',
        );
        if (block.omitted) {
          parts.push(`<p style="margin:0 0 12px">… and ${block.omitted} more (in the evidence pack).</p>`);
        }
        break;
      case 'list':
        parts.push(
          '<ul style="margin:0 0 12px;padding-left:24px">',
          ...block.items.map((item) => `<li>${escapeHtml(item)}</li>`),
          '</ul>',
        );
        break;
    }
  }
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(document.title)}</title></head>`,
    `<body style="margin:0;padding:0;background:#ffffff;color:#1a1a1a;${FONT};font-size:16px;line-height:1.5">`,
    '<div role="main" style="max-width:720px;margin:0 auto;padding:24px">',
    `<h1 style="font-size:22px;margin:0 0 16px">${escapeHtml(document.title)}</h1>`,
    ...parts,
    `<p style="margin:24px 0 0;padding-top:12px;border-top:1px solid #8a8a8a;color:#3d3d3d;font-size:14px">${escapeHtml(document.footer)}</p>`,
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
