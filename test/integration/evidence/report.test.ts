import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportEvidence } from '../../../functions/evidence/export';
import { renderReport } from '../../../functions/evidence/report/index';
import type { CampaignSummary } from '../../../functions/evidence/summary';
import { finalizeCampaign } from '../../../functions/steps/finalize';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { launchChromium } from '../../support/chromium';
import { REVIEWERS, reviewedCampaign } from '../../support/evidence-campaign';
import { startTestStore } from '../../support/local-store';

/*
 * The report of a campaign built through the steps and exported as the workflow exports it, opened
 * in headless Chromium from a file:// URL: what a person reading it sees matches the evidence
 * files (counts, each reviewer, a reason, each revocation's verification, the chart), and opening
 * it requests nothing.
 */
const CAMPAIGN = 'c-report';
let dynamo: LocalDynamo;
let store: Store;
let dir: string;
let browser: Browser;
let page: Page;
let summary: CampaignSummary;
let out: string;
const requests: string[] = [];

type Csv = Record<string, string>[];
const csv = async (name: string) => parse(await readFile(join(out, name)), { columns: true }) as Csv;

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('report'));
  dir = await mkdtemp(join(tmpdir(), 'report-browser-'));
  const [{ services }, launched] = await Promise.all([
    reviewedCampaign(store, CAMPAIGN, 40),
    launchChromium(),
  ]);
  browser = launched;
  await finalizeCampaign({ campaignId: CAMPAIGN }, services);
  out = join(dir, 'evidence');
  await exportEvidence(store, CAMPAIGN, out);
  summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as CampaignSummary;
  const file = join(dir, 'report.html');
  await writeFile(file, await renderReport(out));
  page = await browser.newPage();
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(pathToFileURL(file).href);
});

afterAll(async () => {
  await browser?.close();
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The number a key figure shows, as a person reads it (`1,234` → 1234). */
async function figure(label: string): Promise<number> {
  const text = await page
    .locator('dl.figures div', { has: page.getByText(label, { exact: true }) })
    .locator('dd')
    .innerText();
  return Number((/^[\d,]+/.exec(text)?.[0] ?? 'NaN').replace(/,/g, ''));
}

describe('the HTML report in Chromium', () => {
  it('titles the page with the campaign and says how it ended', async () => {
    expect(await page.title()).toBe(`Access review ${CAMPAIGN}`);
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe(CAMPAIGN);
    const banner = page.getByRole('status');
    // Undecided grants and a revocation still present: completed, with items to look at.
    expect(await banner.innerText()).toMatch(/^Completed: \d+ items need attention/);
    expect(await banner.innerText()).toContain(
      `${summary.decided} of ${summary.reviewable} reviewable grants decided`,
    );
    expect(await banner.getAttribute('class')).toBe('banner warn');
  });

  it('shows the counts summary.json holds', async () => {
    expect(summary.grants).toBe(40);
    expect(await figure('Grants in scope')).toBe(summary.grants);
    expect(await figure('Reviewable')).toBe(summary.reviewable);
    expect(await figure('Decided')).toBe(summary.decided);
    expect(await figure('Undecided')).toBe(summary.undecided);
    expect(await figure('Kept')).toBe(summary.kept);
    expect(await figure('Revoked')).toBe(summary.revoked);
    expect(await figure('Confirmed absent')).toBe(summary.verifiedAbsent);
    expect(await figure('Remediations open')).toBe(summary.remediationsOpen);
    const facts = await page.locator('section[aria-labelledby="campaign"]').innerText();
    expect(facts).toContain(summary.chainHead as string);
    expect(facts).toContain(`${summary.events} events`);
  });

  it('has a row per reviewer with their grants, decisions and status', async () => {
    const reviewers = await csv('reviewers.csv');
    const decisions = await csv('decisions.csv');
    expect(reviewers.map((r) => r.reviewer)).toEqual([...REVIEWERS]);
    const rows = page.locator('section[aria-labelledby="reviewers"] tbody tr');
    expect(await rows.count()).toBe(reviewers.length);
    for (const [index, reviewer] of reviewers.entries()) {
      const cells = await rows.nth(index).locator('th, td').allInnerTexts();
      const mine = decisions.filter((d) => d.reviewer === reviewer.reviewer);
      const decided = mine.filter((d) => d.decision !== 'none').length;
      expect(cells[0]).toBe(`${reviewer.reviewer}\n${reviewer.slack_user_id}`);
      expect(cells.slice(1, 3)).toEqual([reviewer.grants, String(decided)]);
      // Format 2: Keep, Revoke, Downgrade, Reminders, Status (this campaign sent no reminder).
      expect(cells.slice(4, 9)).toEqual([
        String(mine.filter((d) => d.decision === 'keep').length),
        String(mine.filter((d) => d.decision === 'revoke').length),
        String(mine.filter((d) => d.decision === 'downgrade').length),
        '0',
        (reviewer.status as string).replace(/_/g, ' '),
      ]);
    }
  });

  it('shows the reason a reviewer gave, quotes and line break included', async () => {
    const reason = 'left the team, "moved" to sales;\nsee HR-12, HR-13';
    const decisions = await csv('decisions.csv');
    const given = decisions.filter((d) => d.justification === reason);
    expect(given.length).toBeGreaterThan(0);
    const cells = page.locator('section[aria-labelledby="decisions"] tbody td', {
      hasText: 'left the team, "moved" to sales;',
    });
    expect(await cells.count()).toBe(given.length);
    expect(await cells.first().textContent()).toBe(reason);
    expect(await page.locator('section[aria-labelledby="decisions"] ul.items').innerText()).toBe(
      `${reason.replace('\n', ' ')}: ${given.length}`,
    );
  });

  it("shows each revocation's verification: confirmed absent, still present, or a remediation still open", async () => {
    const revocations = await csv('revocations.csv');
    const rows = page.locator('section[aria-labelledby="revocations"] > table:first-of-type tbody tr');
    expect(await rows.count()).toBe(revocations.length);
    const label = {
      confirmed_absent: 'confirmed absent',
      still_present: 'still present',
      not_verified: 'not verified',
    };
    for (const [index, revocation] of revocations.entries()) {
      const cells = await rows.nth(index).locator('td').allInnerTexts();
      expect(cells[0]).toContain(revocation.principal);
      expect(cells[4]).toContain(label[revocation.verification as keyof typeof label]);
    }
    expect(new Set(revocations.map((r) => r.verification))).toEqual(
      new Set(['confirmed_absent', 'still_present']),
    );
    // No API removes what this campaign revoked; report-hostile.test.ts draws a remediation.
    expect(revocations.filter((r) => r.revocation_status === 'remediation_required')).toEqual([]);
    expect(await page.locator('h3#remediation + p').innerText()).toBe(
      'None: every revocation was carried out by an API.',
    );
  });

  it('charts the decisions of the chain: one point per second from the first to the last, keep and revoke', async () => {
    const times = (await readFile(join(out, 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; at: string })
      .filter((event) => event.type === 'decision_recorded')
      .map((event) => Math.floor(Date.parse(event.at) / 1000));
    const seconds = Math.max(...times) - Math.min(...times) + 1;
    const chart = page.getByRole('img', { name: /^Decisions over time \(cumulative, per second\)/ });
    expect(await chart.locator('circle.keep').count()).toBe(seconds);
    expect(await chart.locator('circle.revoke').count()).toBe(seconds);
    // The text alternative says what the chart shows.
    expect(await chart.locator('desc').textContent()).toContain(
      `${summary.kept} keep and ${summary.revoked} revoke`,
    );
    // The last point of each line is the total: the highest on the chart is the larger series.
    const lastY = async (series: string) =>
      Number(await chart.locator(`circle.${series}`).last().getAttribute('cy'));
    expect(summary.kept > summary.revoked ? (await lastY('keep')) < (await lastY('revoke')) : true).toBe(
      true,
    );
  });

  it('is the report.html the export wrote into the folder, byte for byte', async () => {
    expect(await readFile(join(out, 'report.html'), 'utf8')).toBe(await renderReport(out));
  });

  it('requested nothing but itself', () => {
    expect(requests).toEqual([page.url()]);
  });

  it('prints: the banner and the tables are there on paper', async () => {
    await page.emulateMedia({ media: 'print' });
    expect(await page.getByRole('status').isVisible()).toBe(true);
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await page.emulateMedia({ media: 'screen' });
  });
});
