import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The command line as a person runs it: a demo campaign persisted on disk (dynalite on LevelDB),
 * then a second process that rebuilds the evidence from that table alone and verifies it.
 */
const run = promisify(execFile);
const CLI = ['bin/access-review.js'];
let dir: string;
let demo: { stdout: string; stderr: string };
let campaignId: string;

function cli(args: string[]) {
  return run(process.execPath, [...CLI, ...args], {
    env: { ...process.env, USER: 'security-team' },
    // The demo synthesizes the stack and starts every sandbox: over two minutes on a loaded 2-core machine.
    timeout: 240_000,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'access-review-cli-'));
  demo = await cli([
    'demo',
    '--scenario',
    'sandbox/scenarios/acme.yaml',
    '--data-dir',
    join(dir, 'data'),
    '--evidence-dir',
    join(dir, 'evidence'),
    // No --review-window: the scenario's own (localReviewWindowSeconds), which its reminders,
    // escalation and people's timing are set for.
  ]);
  // The quarterly campaign the CLI started; alice's scoped one (started from Slack) follows it.
  campaignId = /Campaign (\S+) started \(cli/.exec(demo.stdout)?.[1] ?? '';
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('access-review CLI', () => {
  it('runs the demo campaign with visible progress and a summary', () => {
    expect(demo.stdout).toMatch(/▶ Snapshot/);
    expect(demo.stdout).toMatch(/Revocations verified +│ 18 confirmed absent/);
    expect(demo.stdout).toMatch(/Remediations \(a person must act\) +│ 5 \(5 still open\)/);
    expect(demo.stdout).toMatch(
      /Policy documents changed +│ 3 \(before and after in policy-changes\.jsonl\)/,
    );
    expect(demo.stdout).toMatch(/github cost +│ \d+ requests, \d+ rate-limit points/);
    expect(demo.stdout).toMatch(/aws cost +│ 19 requests/);
    expect(demo.stdout).toMatch(
      /Revoked GitHub Actions OIDC subject repo:acme\/\* assume on role github-actions-ci \(111122223333\) \(removed\), 1 policy document\(s\) changed/,
    );
    expect(demo.stdout).toMatch(/Needs attention:/);
    expect(demo.stdout).toMatch(/REMEDIATION: dependency-scanner/);
    expect(campaignId).toMatch(/^\d{4}-Q[1-4]-[0-9a-f]{8}$/);
    // The security team's scoped campaign, started with /access-review start after the quarterly one.
    expect(demo.stdout).toMatch(
      /Campaign \S+ started \(slack, requested by U0ALICE01 \(alice\)\); scope repo:acme\/api/,
    );
  });

  it('rebuilds identical evidence in a second process from the table on disk, and verifies it', async () => {
    const rebuilt = join(dir, 'rebuilt');
    await cli(['evidence', '--campaign', campaignId, '--out', rebuilt, '--data-dir', join(dir, 'data')]);
    for (const name of [
      'grants.csv',
      'decisions.csv',
      'revocations.csv',
      'reviewers.csv',
      'events.jsonl',
      'summary.json',
    ]) {
      expect(await readFile(join(rebuilt, name), 'utf8'), name).toBe(
        await readFile(join(dir, 'evidence', campaignId, name), 'utf8'),
      );
    }
    const verified = await cli(['verify-evidence', rebuilt]);
    expect(verified.stdout).toMatch(/verified/);
    const listed = await cli(['campaigns', '--data-dir', join(dir, 'data')]);
    expect(listed.stdout).toContain(`${campaignId}\tcompleted`);
  });

  it("answers a principal's history from the workflow's own writes: the grant with its decision and outcomes", async () => {
    // gina's direct read on acme/api is revoked by bob in the scenario, removed and verified absent.
    const history = await cli([
      'history',
      '--principal',
      'gina',
      '--format',
      'json',
      '--data-dir',
      join(dir, 'data'),
    ]);
    const rows = JSON.parse(history.stdout) as Array<Record<string, unknown>>;
    expect(rows).toEqual([
      expect.objectContaining({
        campaign: campaignId,
        resource: 'acme/api',
        principal: 'gina',
        decision: 'revoke',
        decided_by: 'bob',
        revocation: 'removed',
        verification: 'absent',
      }),
    ]);
    expect(history.stderr).toMatch(
      /1 grant\(s\) of principal gina over 2 campaign\(s\); \d+ index item\(s\) read in 1 page\(s\)/,
    );
  });

  it('refuses a bad scenario naming every bad field, and exits 1', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      'organization:\n  login: acme\n  members: []\nslack: {}\nconfig: { routing: { fallbackReviewers: [] } }\n',
    );
    const failure = await cli(['demo', '--scenario', bad, '--data-dir', join(dir, 'data2')]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/organization\.members/);
    expect(failure?.stderr).toMatch(/config\.routing\.fallbackReviewers/);
  });
});
