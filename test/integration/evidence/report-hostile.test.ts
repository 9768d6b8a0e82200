import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'csv-stringify/sync';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { neutraliseRow } from '../../../functions/evidence/csv-cells';
import { renderReport } from '../../../functions/evidence/report/index';
import { launchChromium } from '../../support/chromium';

/** A CSV as the export writes it: every cell neutralised against formula injection. */
const csv = (rows: unknown[][]) => stringify(rows.map((row) => neutraliseRow(row)));

/*
 * A report of evidence whose values are hostile (markup, script, a spreadsheet formula, a link to
 * a loopback server that counts hits), opened in headless Chromium: each value is shown as the
 * text it is, nothing runs, nothing is fetched. Then markup planted in the HTML itself, as if
 * escaping had failed: the page's Content-Security-Policy still stops it. The folder is written by
 * hand with every exception the report lists (remediation, still present, failed, held, undecided).
 */
let dir: string;
let browser: Browser;
let server: Server;
let hits = 0;
let base: string;

const HOSTILE = {
  img: '<img src=x onerror="window.__pwned=1">',
  script: '<script>window.__pwned=2</script>',
  formula: '=HYPERLINK("http://evil.example","x")',
  link: '', // set once the server listens: a stylesheet and an image on the loopback server
};

const REVOCATION_HEADER = [
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
];

function revocation(principal: string, fields: Record<string, string>): string[] {
  const row: Record<string, string> = {
    grant_id: `g_${principal.length}`,
    principal,
    resource: 'acme/api',
    entitlement: 'write',
    via: 'direct',
    decided_by: 'bob',
    decided_at: '2026-10-01T10:00:00.000Z',
    grant_kind: 'user_repository',
    revocation_status: 'removed',
    applied_at: '2026-10-02T08:00:00.000Z',
    action: 'DELETE /repos/acme/api/collaborators',
    remediation: '',
    error: '',
    verification: 'confirmed_absent',
    verified_at: '2026-10-02T08:05:00.000Z',
    still_present_via: '',
    policy_changes: '',
    guard: 'allowed',
    guard_reasons: '',
    ...fields,
  };
  return REVOCATION_HEADER.map((column) => row[column] ?? '');
}

async function writeFolder(folder: string): Promise<void> {
  await mkdir(folder, { recursive: true });
  const summary = {
    campaignId: 'c-hostile',
    organization: 'acme',
    status: 'completed',
    trigger: 'schedule',
    requestedBy: HOSTILE.script,
    startedAt: '2026-10-01T09:00:00.000Z',
    completedAt: '2026-10-08T09:00:00.000Z',
    grants: 9,
    reviewable: 8,
    derived: 1,
    decided: 6,
    kept: 2,
    revoked: 4,
    undecided: 2,
    verifiedAbsent: 1,
    stillPresent: 2,
    remediationsRequired: 1,
    remediationsOpen: 1,
    reviewersAsked: 2,
    reviewersCompleted: 1,
    reviewersUnresponsive: 1,
    events: 8,
    chainHead: 'cd'.repeat(32),
    chainIntact: true,
  };
  await writeFile(join(folder, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeFile(
    join(folder, 'reviewers.csv'),
    csv([
      ['reviewer', 'slack_user_id', 'grants', 'status', 'requested_at', 'completed_at', 'due_at'],
      [
        HOSTILE.img,
        'U0IMG',
        6,
        'completed',
        '2026-10-01T09:01:00.000Z',
        '2026-10-03T12:00:00.000Z',
        '2026-10-08T09:01:00.000Z',
      ],
      ['dave', 'U0DAVE', 1, 'unresponsive', '2026-10-01T09:01:00.000Z', '', '2026-10-08T09:01:00.000Z'],
    ]),
  );
  const decided = (principal: string, decision: string, at: string, justification = '') => [
    'g',
    principal,
    'acme/api',
    'write',
    'direct',
    HOSTILE.img,
    decision,
    'U0IMG',
    at,
    justification,
    1,
    '',
  ];
  await writeFile(
    join(folder, 'decisions.csv'),
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
      decided(HOSTILE.img, 'revoke', '2026-10-01T10:00:00.000Z', HOSTILE.formula),
      decided(HOSTILE.script, 'revoke', '2026-10-01T11:30:00.000Z', HOSTILE.link),
      decided(HOSTILE.formula, 'revoke', '2026-10-02T16:00:00.000Z'),
      decided('frank', 'revoke', '2026-10-03T12:00:00.000Z', 'Revoke — person left or changed team'),
      decided('erin', 'keep', '2026-10-01T10:30:00.000Z'),
      decided('gina', 'keep', '2026-10-03T11:00:00.000Z'),
      [
        'g',
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
      ],
      [
        'g',
        'hank',
        'acme/ops',
        'read',
        'direct',
        '',
        'none',
        '',
        '',
        '',
        '',
        'no eligible reviewer: "hank" is the only owner',
      ],
    ]),
  );
  await writeFile(
    join(folder, 'revocations.csv'),
    csv([
      REVOCATION_HEADER,
      revocation(HOSTILE.img, {}),
      revocation(HOSTILE.script, {
        revocation_status: 'remediation_required',
        action: 'none: the secret is visible to all repositories',
        remediation: `An organization owner narrows ${HOSTILE.link}`,
        verification: 'still_present',
        still_present_via: 'visibility:all (read)',
      }),
      revocation(HOSTILE.formula, {
        verification: 'still_present',
        still_present_via: 'team:acme/platform (write)',
      }),
      revocation('frank', {
        revocation_status: 'failed',
        error: 'GitHub answered 403: Resource not accessible by integration',
        verification: 'not_verified',
        verified_at: '',
        guard: 'held',
        guard_reasons: 'org_owner: frank is an owner',
      }),
    ]),
  );
  const event = (seq: number, type: string, at: string, data: Record<string, unknown>) =>
    JSON.stringify({ at, campaignId: 'c-hostile', data, hash: 'h', prevHash: 'p', seq, type });
  await writeFile(
    join(folder, 'events.jsonl'),
    `${[
      event(1, 'campaign_started', '2026-10-01T09:00:00.000Z', {
        requestedBy: HOSTILE.script,
        trigger: 'schedule',
        reviewWindowHours: 168,
      }),
      event(2, 'snapshot_taken', '2026-10-01T09:00:30.000Z', {
        connectors: [HOSTILE.img],
        snapshotAt: '2026-10-01T09:00:10.000Z',
      }),
      // Three days of decisions: 51 hours from the first to the last, within the 96 steps drawn.
      event(3, 'decision_recorded', '2026-10-01T10:00:00.000Z', { decision: 'revoke' }),
      event(4, 'decision_recorded', '2026-10-01T10:30:00.000Z', { decision: 'keep' }),
      event(5, 'decision_recorded', '2026-10-01T11:30:00.000Z', { decision: 'revoke' }),
      event(6, 'decision_recorded', '2026-10-02T16:00:00.000Z', { decision: 'revoke' }),
      event(7, 'decision_recorded', '2026-10-03T11:00:00.000Z', { decision: 'keep' }),
      event(8, 'decision_recorded', '2026-10-03T12:00:00.000Z', { decision: 'revoke', note: HOSTILE.img }),
    ].join('\n')}\n`,
  );
}

async function open(html: string, name: string): Promise<{ page: Page; requests: string[] }> {
  const file = join(dir, name);
  await writeFile(file, html);
  const page = await browser.newPage();
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(pathToFileURL(file).href);
  return { page, requests };
}

let report: string;
let page: Page;
let requests: string[];

beforeAll(async () => {
  server = createServer((_, response) => {
    hits += 1;
    response.end('window.__pwned = 3;');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  HOSTILE.link = `<link rel="stylesheet" href="${base}/x.css"><img src="${base}/x.png">`;
  dir = await mkdtemp(join(tmpdir(), 'report-hostile-'));
  const [launched] = await Promise.all([launchChromium(), writeFolder(join(dir, 'evidence'))]);
  browser = launched;
  report = await renderReport(join(dir, 'evidence'));
  ({ page, requests } = await open(report, 'report.html'));
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('a report of hostile values, in Chromium', () => {
  it('shows each value as the text it is', async () => {
    for (const value of Object.values(HOSTILE)) {
      expect(await page.getByText(value, { exact: true }).count(), value).toBeGreaterThan(0);
    }
    expect(await page.locator('img, script, link, iframe, object, embed, a').count()).toBe(0);
    const reviewer = page.locator('section[aria-labelledby="reviewers"] tbody tr').first().locator('th');
    expect(await reviewer.innerText()).toBe(`${HOSTILE.img}\nU0IMG`);
  });

  it('ran nothing and fetched nothing', async () => {
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(requests).toEqual([page.url()]);
    expect(hits).toBe(0);
  });

  it('lists every exception: undecided and why, still present, failed, held, and the remediation still open', async () => {
    const exceptions = page.locator('section[aria-labelledby="exceptions"]');
    const text = await exceptions.innerText();
    expect(text).toContain(
      '2 grants undecided; 1 remediation open; 1 revoked grant still present; 1 revocation failed',
    );
    expect(text).toContain('reviewer did not answer before the review window closed: 1');
    expect(text).toContain('no eligible reviewer: 1');
    expect(text).toContain('no eligible reviewer: "hank" is the only owner');
    expect(text).toContain('team:acme/platform (write)');
    expect(text).toContain('GitHub answered 403: Resource not accessible by integration');
    expect(text).toContain('org_owner: frank is an owner');
    const remediation = page.locator('h3#remediation + p + table tbody tr');
    expect(await remediation.count()).toBe(1);
    expect(await remediation.innerText()).toContain(`An organization owner narrows ${HOSTILE.link}`);
    expect(await remediation.innerText()).toContain('open');
    const banner = page.getByRole('status');
    expect(await banner.getAttribute('class')).toBe('banner warn');
  });

  it("shows each revocation's verification as read back: confirmed absent, still present, not verified", async () => {
    const rows = page.locator('section[aria-labelledby="revocations"] > table:first-of-type tbody tr');
    const verification = async (index: number) =>
      (await rows.nth(index).locator('td').nth(4).innerText()).split('\n');
    expect(await rows.count()).toBe(4);
    expect(await verification(0)).toEqual(['confirmed absent']);
    expect(await verification(1)).toEqual(['still present', 'still via visibility:all (read)']);
    expect(await verification(2)).toEqual(['still present', 'still via team:acme/platform (write)']);
    expect(await verification(3)).toEqual(['not verified']);
  });

  it('charts three days of decisions hour by hour, from the first decision to the last', async () => {
    const chart = page.getByRole('img', { name: /^Decisions over time \(cumulative, per hour\)/ });
    // 2026-10-01 10:00 to 2026-10-03 12:00: 51 hours.
    expect(await chart.locator('circle.keep').count()).toBe(51);
    expect(await chart.locator('circle.revoke').count()).toBe(51);
    expect(await chart.locator('polyline').count()).toBe(2);
    expect(await chart.locator('circle.revoke').last().locator('title').textContent()).toBe(
      '2026-10-03 12:00 UTC: 4 revoke so far (1 in this hour)',
    );
  });

  it('stops markup planted in the page itself: the Content-Security-Policy forbids script and requests', async () => {
    // As if escaping had failed: raw markup after the policy, inside the body.
    const html = report.replace(
      '<main>',
      `<main><script>window.__pwned=4</script><img src="${base}/planted.png" onerror="window.__pwned=5"><link rel="stylesheet" href="${base}/planted.css"><div style="background:url(${base}/bg.png)">x</div>`,
    );
    const opened = await open(html, 'planted.html');
    const failed = new Map<string, string>();
    opened.page.on('requestfailed', (request) =>
      failed.set(request.url(), request.failure()?.errorText ?? ''),
    );
    await opened.page.reload();
    expect(await opened.page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    // Chromium starts the planted requests and the policy blocks them before they leave the page.
    const planted = opened.requests.filter((url) => url.startsWith(base));
    expect(planted.length).toBeGreaterThan(0);
    for (const url of planted) expect(failed.get(url), url).toMatch(/csp/i);
    expect(hits).toBe(0);
    await opened.page.close();
  });
});
