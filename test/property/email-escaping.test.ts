import fc from 'fast-check';
import { type DefaultTreeAdapterTypes, parse } from 'parse5';
import { describe, expect, it } from 'vitest';
import { type EmailDocument, plain, renderEmail } from '../../functions/email/render';

// Every string in an email is data (grant names, logins, resources and errors come from GitHub, AWS
// and people). Property: whatever the strings, the HTML part parses (as a browser parses it,
// parse5) to the same elements and attributes as with harmless strings, each string is exactly the
// text of its own element, and the text part has the same lines. A string that closed its cell,
// opened a tag, a comment or an attribute, or started a line of its own would fail it.

type Element = DefaultTreeAdapterTypes.Element;
type ChildNode = DefaultTreeAdapterTypes.ChildNode;

const HOSTILE = [
  '</td></tr></table><script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' onmouseover='alert(1)",
  '<!--',
  '-->',
  '</title><h1>Approved</h1>',
  '<![CDATA[x]]>',
  '&lt;b&gt;',
  '&amp;',
  '&#60;script&#62;',
  '\r\n\r\nAll revocations verified.',
  '\u202eevil\u202c',
  '</p></div></body></html><p>',
  '<style>*{display:none}</style>',
  '\u0000',
  '</caption>',
  '<plaintext>',
  '<textarea>',
];

const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(...HOSTILE),
  fc
    .array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 8 })), { maxLength: 5 })
    .map((parts) => parts.join('')),
);

/** A document with a string in every slot the renderer has; `s(i)` is the i-th string. */
function documentOf(s: (index: number) => string): EmailDocument {
  return {
    title: s(0),
    blocks: [
      { kind: 'heading', text: s(1) },
      { kind: 'paragraph', text: s(2) },
      {
        kind: 'facts',
        rows: [
          [s(3), s(4)],
          [s(5), 7],
        ],
      },
      {
        kind: 'table',
        caption: s(6),
        columns: [s(7), s(8)],
        rows: [
          [s(9), s(10)],
          [s(11), s(12)],
        ],
        omitted: 3,
      },
      { kind: 'list', items: [s(13), s(14)] },
    ],
    footer: s(15),
  };
}

const SLOTS = 16;

function isElement(node: ChildNode): node is Element {
  return 'tagName' in node;
}

/** Elements and attributes, in document order, without text. */
function shape(node: DefaultTreeAdapterTypes.ParentNode): string[] {
  const out: string[] = [];
  for (const child of node.childNodes) {
    if (isElement(child)) {
      out.push(`<${child.tagName} ${child.attrs.map((attr) => `${attr.name}=${attr.value}`).join(' ')}>`);
      out.push(...shape(child));
      out.push(`</${child.tagName}>`);
    } else if (child.nodeName === '#comment') out.push('<!-- -->');
  }
  return out;
}

/** The text of every element that holds only text, in document order. */
function texts(node: DefaultTreeAdapterTypes.ParentNode): string[] {
  const out: string[] = [];
  for (const child of node.childNodes) {
    if (!isElement(child)) continue;
    const kids = child.childNodes;
    if (kids.every((kid) => kid.nodeName === '#text')) {
      out.push(kids.map((kid) => (kid as DefaultTreeAdapterTypes.TextNode).value).join(''));
    } else out.push(...texts(child));
  }
  return out;
}

const benign = renderEmail(documentOf((index) => `slot${index}`));
const benignDocument = parse(benign.html);

describe('email rendering (property)', () => {
  it('keeps every string inside its own element and line, whatever it contains', () => {
    fc.assert(
      fc.property(fc.array(hostileString, { minLength: SLOTS, maxLength: SLOTS }), (strings) => {
        const at = (index: number) => strings[index] ?? '';
        const rendered = renderEmail(documentOf(at));
        const parsed = parse(rendered.html);
        expect(shape(parsed)).toEqual(shape(benignDocument));
        // Each slot's text is the string itself (unsafe characters as spaces): nothing lost or added.
        const expected = texts(benignDocument).map((text) =>
          text.replace(/slot(\d+)/g, (_, index: string) => plain(at(Number(index)))),
        );
        expect(texts(parsed)).toEqual(expected);
        // The text part: one line per slot, as with harmless strings.
        expect(rendered.text.split('\n')).toHaveLength(benign.text.split('\n').length);
        expect(rendered.subject).not.toMatch(/[\r\n]/);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 300), seed: Number(process.env.FC_SEED ?? 20261202) },
    );
  });

  it('writes hostile markup as visible text', () => {
    const rendered = renderEmail(documentOf(() => '</td><script>alert(1)</script>'));
    expect(rendered.html).not.toContain('<script>');
    expect(rendered.html).toContain('&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(rendered.text).toContain('</td><script>alert(1)</script>');
  });
});
