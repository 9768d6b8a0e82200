import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { neutraliseRow } from '../../../functions/evidence/csv-cells';
import { DecisionTimeline, MAX_BUCKETS } from '../../../functions/evidence/report/chart';
import { escapeHtml, formatCount, truncate } from '../../../functions/evidence/report/html';
import { REPORT_FILE, ReportInputError, renderReport } from '../../../functions/evidence/report/index';
import { ROW_LIMIT } from '../../../functions/evidence/report/model';
import { REPORT_CSP, REPORT_CSS, REPORT_CSS_HASH } from '../../../functions/evidence/report/style';

/** A CSV as the export writes it: every cell neutralised against formula injection. */
const csv = (rows: unknown[][]) => stringify(rows.map((row) => neutraliseRow(row)));

/*
 * The report renderer on hand-made evidence folders: the same folder gives the same bytes, every
 * value is text whatever it holds, long tables are cut with the count of what is left, and the
 * chart has one point per time bucket.
 */

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'report-unit-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Folder {
  principal?: string;
  justification?: string;
  revokes?: number;
  keeps?: number;
  /** ms between decisions. */
  spacing?: number;
  failed?: boolean;
  /** signatures.jsonl: none, the last over the head, or the last over an earlier event. */
  signed?: 'head' | 'stale';
}

const T0 = Date.parse('2026-10-01T09:00:00.000Z');

/** An evidence folder as the export writes it (the columns the report reads, and a few more). */
async function folder(name: string, options: Folder = {}): Promise<string> {
  const dir = join(root, name);
  const { revokes = 3, keeps = 5, spacing = 1000 } = options;
  const decisions: unknown[][] = [];
  const revocations: unknown[][] = [];
  const events: string[] = [
    JSON.stringify({
      at: new Date(T0).toISOString(),
      seq: 1,
      type: 'campaign_started',
      data: { requestedBy: 'alice', trigger: 'schedule', reviewWindowHours: 168 },
    }),
  ];
  for (let i = 0; i < keeps + revokes; i += 1) {
    const decision = i < keeps ? 'keep' : 'revoke';
    const at = new Date(T0 + (i + 1) * spacing).toISOString();
    // The first revoke decision carries the test's principal: it shows in the decision and revocation tables.
    const principal = i === keeps && options.principal !== undefined ? options.principal : `user${i}`;
    const justification = i === keeps && options.justification !== undefined ? options.justification : '';
    decisions.push([
      `g_${i}`,
      principal,
      'acme/api',
      'write',
      'direct',
      'bob',
      decision,
      'U0BOB',
      at,
      justification,
      i + 2,
      '',
    ]);
    events.push(
      JSON.stringify({ at, seq: i + 2, type: 'decision_recorded', data: { decision, grantId: `g_${i}` } }),
    );
    if (decision === 'revoke') {
      revocations.push([
        `g_${i}`,
        principal,
        'acme/api',
        'write',
        'direct',
        'bob',
        at,
        'user_repository',
        'removed',
        at,
        'DELETE …',
        '',
        '',
        'confirmed_absent',
        at,
        '',
        '',
        'allowed',
        '',
      ]);
    }
  }
  decisions.push([
    'g_zz',
    'carol',
    'acme/web',
    'admin',
    'direct',
    'dave',
    'none',
    '',
    '',
    '',
    '',
    'reviewer did not answer before the review window closed',
  ]);
  const summary = {
    campaignId: 'c-unit',
    organization: 'acme',
    status: options.failed ? 'failed' : 'completed',
    trigger: 'schedule',
    requestedBy: 'alice',
    startedAt: new Date(T0).toISOString(),
    completedAt: null,
    grants: keeps + revokes + 1,
    reviewable: keeps + revokes + 1,
    decided: keeps + revokes,
    kept: keeps,
    revoked: revokes,
    undecided: 1,
    chainHead: 'ab'.repeat(32),
    chainIntact: true,
    ...(options.failed
      ? {
          outcome: 'failed',
          failure: {
            state: 'ApplyRevocations',
            error: 'AuthenticationError',
            cause: '401 Bad credentials',
            at: new Date(T0).toISOString(),
          },
        }
      : {}),
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFile(
    join(dir, 'reviewers.csv'),
    csv([
      ['reviewer', 'slack_user_id', 'grants', 'status', 'requested_at', 'completed_at', 'due_at'],
      ['bob', 'U0BOB', keeps + revokes, 'completed', '', '', ''],
      ['dave', 'U0DAVE', 1, 'unresponsive', '', '', ''],
    ]),
  );
  await writeFile(
    join(dir, 'decisions.csv'),
    csv([
      [
        'grant_id',
        'principal',
        'resource',
        'entitlement',
        'via',
        'reviewer',
        'decision',
        'decided_by_slack_user',
        'decided_at',
        'justification',
        'event_seq',
        'note',
      ],
      ...decisions,
    ]),
  );
  await writeFile(
    join(dir, 'revocations.csv'),
    csv([
      [
        'grant_id',
        'principal',
        'resource',
        'entitlement',
        'via',
        'decided_by',
        'decided_at',
        'grant_kind',
        'revocation_status',
        'applied_at',
        'action',
        'remediation',
        'error',
        'verification',
        'verified_at',
        'still_present_via',
        'policy_changes',
        'guard',
        'guard_reasons',
      ],
      ...revocations,
    ]),
  );
  await writeFile(join(dir, 'events.jsonl'), `${events.join('\n')}\n`);
  if (options.signed) {
    const signature = (seq: number, hash: string) =>
      JSON.stringify({
        algorithm: 'ECDSA_SHA_256',
        campaignId: 'c-unit',
        hash,
        keyId: 'arn:aws:kms:eu-west-1:111122223333:key/k1',
        keySha256: 'f'.repeat(64),
        seq,
        signature: 'MEUC',
        signedAt: new Date(T0).toISOString(),
      });
    const last =
      options.signed === 'head'
        ? signature(events.length, summary.chainHead)
        : signature(events.length - 1, 'e'.repeat(64));
    await writeFile(join(dir, 'signatures.jsonl'), `${signature(1, '0'.repeat(64))}\n${last}\n`);
  }
  return dir;
}

/**
 * Any text, and often text made of what HTML and spreadsheets give meaning to (arbitrary Unicode
 * alone would almost never hold a `<`).
 */
const hostileText = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({
    unit: fc.constantFrom(
      '<',
      '>',
      '"',
      "'",
      '&',
      '=',
      '+',
      '-',
      '@',
      '\t',
      '\r',
      '\n',
      '/',
      ' ',
      'a',
      'script',
      'img',
      'on',
    ),
  }),
);

/** The page's markup with every text node removed: what a value could change if it were not text. */
function tags(html: string): string[] {
  return html.match(/<[^>]*>/g) ?? [];
}

describe('renderReport', () => {
  it('renders the same bytes for the same folder, whatever the time zone and locale', async () => {
    const dir = await folder('same');
    const first = await renderReport(dir);
    const zone = process.env.TZ;
    process.env.TZ = 'Pacific/Kiritimati';
    try {
      expect(await renderReport(dir)).toBe(first);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
    expect(REPORT_FILE).toBe('report.html');
  });

  it('changes when a file it is built from changes', async () => {
    const a = await renderReport(await folder('a', { justification: 'left the company' }));
    const b = await renderReport(await folder('b', { justification: 'left the company.' }));
    expect(a).not.toBe(b);
    expect(a).toContain('left the company');
  });

  it('shows any principal and reason as text: the markup is the same as for a plain name', async () => {
    const plain = tags(await renderReport(await folder('plain', { principal: 'x', justification: 'y' })));
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        hostileText,
        fc.oneof(hostileText, fc.string({ unit: 'binary' })),
        async (principal, reason) => {
          run += 1;
          const html = await renderReport(
            await folder(`p${run}`, { principal, justification: reason === '' ? 'y' : reason }),
          );
          expect(tags(html)).toEqual(plain);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('escapes a principal that is markup or a spreadsheet formula', async () => {
    const principal = '<img src=x onerror="window.__pwned=1">';
    const html = await renderReport(
      await folder('hostile', { principal, justification: '=HYPERLINK("http://evil.example","x")' }),
    );
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;');
    expect(html).toContain('=HYPERLINK(&quot;http://evil.example&quot;,&quot;x&quot;)');
  });

  it('allows only its own inline style sheet: no script, no request', async () => {
    const html = await renderReport(await folder('csp'));
    expect(html).toContain(`content="${escapeHtml(REPORT_CSP)}"`);
    expect(REPORT_CSP).toMatch(/^default-src 'none';/);
    expect(REPORT_CSP).toContain(`style-src '${REPORT_CSS_HASH}'`);
    expect(html).toContain(`<style>${REPORT_CSS}</style>`);
    expect(html).not.toMatch(/<script|\sstyle="|\son[a-z]+=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i);
  });

  it('cuts a long table at the row limit and says how many more the CSV holds', async () => {
    const html = await renderReport(await folder('long', { revokes: ROW_LIMIT + 7, keeps: 1 }));
    expect(html).toContain(
      `The first ${formatCount(ROW_LIMIT)} of ${formatCount(ROW_LIMIT + 7)} revocations; 7 more in <code>revocations.csv</code>`,
    );
    const revocationTable = html.slice(html.indexOf('id="revocations"'), html.indexOf('id="remediation"'));
    expect(revocationTable.match(/<tr>/g)?.length).toBe(ROW_LIMIT + 1);
  });

  it('draws one point per bucket for each series, empty buckets included', async () => {
    // 8 decisions 5 s apart: 36 s from first to last, so second buckets, 36 of them.
    const html = await renderReport(await folder('chart', { keeps: 5, revokes: 3, spacing: 5000 }));
    expect(html.match(/<circle class="keep"/g)?.length).toBe(36);
    expect(html.match(/<circle class="revoke"/g)?.length).toBe(36);
    expect(html).toContain('role="img" aria-labelledby="decisions-chart-title decisions-chart-desc"');
    expect(html).toMatch(/<desc id="decisions-chart-desc">[^<]*8 decisions, 5 keep and 3 revoke/);
  });

  it('shows a value the export neutralised against formula injection as the value itself', async () => {
    const html = await renderReport(
      await folder('neutralised', { principal: "=cmd|' /C calc'!A0", justification: "'quoted" }),
    );
    const csvText = await readFile(join(root, 'neutralised', 'decisions.csv'), 'utf8');
    expect(csvText).toContain(`'=cmd|' /C calc'!A0`);
    expect(csvText).toContain(`''quoted`);
    expect(html).toContain('<strong>=cmd|&#39; /C calc&#39;!A0</strong>');
    expect(html).toContain('<td>&#39;quoted</td>');
  });

  it('says whether the last signature in signatures.jsonl is over the chain head', async () => {
    const signature = (html: string) => /<dt>Signature<\/dt><dd>(.*?)<\/dd>/.exec(html)?.[1];
    expect(signature(await renderReport(await folder('signed', { signed: 'head' })))).toBe(
      '<span class="pill none">signature over the head present</span> 2 signatures in signatures.jsonl; the last over event 9, ECDSA_SHA_256, 2026-10-01 09:00 UTC<br>key <code>arn:aws:kms:eu-west-1:111122223333:key/k1</code>, fingerprint <code>sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff</code>',
    );
    expect(signature(await renderReport(await folder('stale', { signed: 'stale' })))).toMatch(
      /^<span class="pill bad">head not covered<\/span> 2 signatures in signatures.jsonl; the last over event 8,/,
    );
    expect(signature(await renderReport(await folder('unsigned')))).toBe(
      'not signed: this evidence has no signatures.jsonl (a campaign from before signing)',
    );
  });

  it('says so when no decision was recorded, with no chart', async () => {
    const html = await renderReport(await folder('none-decided', { keeps: 0, revokes: 0 }));
    expect(html).toContain('<p class="empty">No decision was recorded.</p>');
    expect(html).not.toContain('<svg');
  });

  it('says a failed campaign failed, where and why', async () => {
    const html = await renderReport(await folder('failed', { failed: true }));
    expect(html).toContain('<div class="banner bad" role="status"><div><strong>Campaign failed</strong>');
    expect(html).toContain(
      'in ApplyRevocations at 2026-10-01 09:00 UTC: AuthenticationError – 401 Bad credentials',
    );
  });

  it('names the file it cannot read instead of failing with a stack trace', async () => {
    const dir = await folder('broken');
    await writeFile(join(dir, 'events.jsonl'), '{"type":"campaign_started"}\nnot json\n');
    await expect(renderReport(dir)).rejects.toThrow(
      new ReportInputError('events.jsonl', 'line 2 is not JSON'),
    );
    await writeFile(join(dir, 'events.jsonl'), '{"__proto__":{"x":1}}\n');
    await expect(renderReport(dir)).rejects.toBeInstanceOf(ReportInputError);
    await rm(join(dir, 'decisions.csv'));
    await expect(renderReport(dir)).rejects.toThrow(/^report: decisions\.csv: /);
    await expect(renderReport(join(root, 'nowhere'))).rejects.toThrow(
      /^report: summary\.json: cannot be read/,
    );
  });
});

describe('DecisionTimeline', () => {
  it('widens its buckets until the campaign fits, keeping every decision', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 90 * 86_400_000 }), fc.boolean()), {
          minLength: 1,
          maxLength: 300,
        }),
        (decisions) => {
          const timeline = new DecisionTimeline();
          for (const [offset, keep] of decisions)
            timeline.add(new Date(T0 + offset).toISOString(), keep ? 'keep' : 'revoke');
          const built = timeline.build();
          const last = built.buckets.at(-1);
          expect(built.buckets.length).toBeLessThanOrEqual(MAX_BUCKETS);
          expect(last?.keepTotal).toBe(decisions.filter(([, keep]) => keep).length);
          expect(last?.revokeTotal).toBe(decisions.filter(([, keep]) => !keep).length);
          // Buckets are contiguous, one unit apart.
          const starts = built.buckets.map((bucket) => bucket.start);
          expect(starts).toEqual(starts.map((_, i) => (starts[0] ?? 0) + i * built.unit.ms));
        },
      ),
    );
  });

  it('counts a decision event with no readable time or decision, and draws it nowhere', () => {
    const timeline = new DecisionTimeline();
    timeline.add('yesterday', 'keep');
    timeline.add('2026-10-01T09:00:00.000Z', 'maybe');
    timeline.add('2026-10-01T09:00:00.000Z', 'keep');
    expect(timeline.build()).toMatchObject({ unplaced: 2, buckets: [{ keep: 1, revoke: 0 }] });
  });
});

describe('text helpers', () => {
  it('escapeHtml leaves no markup character and decodes back to the value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const escaped = escapeHtml(value);
        expect(escaped).not.toMatch(/[<>"']/);
        const decoded = escaped.replace(/&(lt|gt|quot|#39|amp);/g, (_, name: string) =>
          name === 'lt' ? '<' : name === 'gt' ? '>' : name === 'quot' ? '"' : name === '#39' ? "'" : '&',
        );
        expect(decoded).toBe(value);
      }),
    );
  });

  it('formats counts without the machine locale and truncates on code points', () => {
    expect(formatCount(1_000_000)).toBe('1,000,000');
    expect(formatCount(999)).toBe('999');
    expect(truncate('a😀b', 2, 'x.csv')).toBe('a😀… (in full in x.csv)');
    expect(truncate('abc', 3, 'x.csv')).toBe('abc');
  });
});
