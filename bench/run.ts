/**
 * `npm run bench`: how the review scales with the size of an organisation, as ratios against a
 * baseline measured in the same process (absolute times on a shared 2-core machine mean little).
 *
 * Baseline: writing N snapshot grants to the local table (BatchWriteItem, 25 at a time). Each
 * figure is (time of the operation) / (time of the baseline for the same N).
 */
import '../lib/local/node20';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createGitHubConnector } from '../functions/connectors/github/index';
import { parseConfig } from '../functions/core/config';
import type { Grant } from '../functions/core/grant';
import { exportEvidence } from '../functions/evidence/export';
import { createStore } from '../functions/store/index';
import { startLocalDynamo } from '../lib/local/dynamo';
import { synthesizeForLocalHost } from '../lib/local/synthesized-workflow';
import { startGitHubSandbox } from '../sandbox/github/server';
import type { OrganizationInput } from '../sandbox/github/state';
import { awsBenchmark } from './aws';

const TOKEN = 'ghs_bench';

/**
 * members × (1 org grant) + teams × members + repos × (direct + team + derived) grants, and the CI/CD
 * surface on every other repository: a deploy key, a production environment with an approver and a
 * secret, and default-branch protection with a bypass allowance; plus org secrets and a runner group.
 */
function organization(scale: number): OrganizationInput {
  const pad = (n: number) => String(n).padStart(4, '0');
  const members = Array.from({ length: 20 * scale }, (_, i) => `user-${pad(i)}`);
  const repositories = Array.from({ length: 10 * scale }, (_, i) => {
    const owner = members[(i * 7) % members.length]!;
    const cicd =
      i % 2 === 0
        ? {
            deployKeys: [{ title: `deploy-${pad(i)}`, readOnly: false, createdAt: '2026-01-01T00:00:00Z' }],
            environments: [{ name: 'production', reviewers: { users: [owner] }, secrets: ['DEPLOY_TOKEN'] }],
            branchProtection: [{ branch: 'main', bypassPullRequestAllowances: { users: [owner] } }],
          }
        : {};
    return {
      name: `repo-${pad(i)}`,
      private: true,
      collaborators: { [owner]: 'write', [`contractor-${pad(i)}`]: 'read' },
      ...cicd,
    };
  });
  const teams = Array.from({ length: 2 * scale }, (_, t) => ({
    slug: `team-${pad(t)}`,
    maintainers: [members[t * 10]!],
    members: members.slice(t * 10 + 1, t * 10 + 10),
    repositories: Object.fromEntries(
      Array.from({ length: 5 }, (_, r) => [
        `repo-${pad((t * 5 + r) % repositories.length)}`,
        'write' as const,
      ]),
    ),
  }));
  return {
    login: 'benchco',
    basePermission: 'none',
    secrets: [
      { name: 'NPM_TOKEN', visibility: 'all' },
      {
        name: 'RELEASE_TOKEN',
        visibility: 'selected',
        repositories: repositories.slice(0, 5).map((r) => r.name),
      },
    ],
    runnerGroups: [
      { name: 'deploy', visibility: 'selected', repositories: repositories.slice(0, 5).map((r) => r.name) },
    ],
    members: members.map((login, i) => ({ login, role: i === 0 ? ('owner' as const) : ('member' as const) })),
    teams,
    repositories,
  };
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** The first benchmark: snapshot, export and appends against writing the same grants (the baseline). */
async function storeBenchmark(): Promise<void> {
  const config = parseConfig({
    github: { organization: 'benchco' },
    routing: { fallbackReviewers: ['user-0000'] },
    people: [{ github: 'user-0000', email: 'owner@benchco.example' }],
  });
  const { table } = synthesizeForLocalHost(config);
  const rows: string[][] = [];
  // The first pass (scale 1) warms up the GraphQL schema, the JIT and dynalite; it is not reported.
  for (const [pass, scale] of [1, 1, 4, 16, 64].entries()) {
    const sandbox = await startGitHubSandbox(organization(scale), { token: TOKEN });
    const dynamo = await startLocalDynamo({ tableName: `bench-${pass}`, schema: table });
    const store = createStore(dynamo.table);
    const connector = createGitHubConnector({
      organization: 'benchco',
      token: TOKEN,
      baseUrl: sandbox.url,
      throttle: { fast: true },
    });
    const grants: Grant[] = [];
    const snapshotMs = await time(async () => {
      for await (const grant of connector.snapshot()) grants.push(grant);
    });
    const stored = (campaignId: string) =>
      grants.map((grant) => ({ ...grant, campaignId, snapshotAt: '2026-10-01T09:00:00.000Z' }));
    const baselineMs = await time(() => store.grants.putMany(stored('baseline')));
    await store.campaigns.create({
      campaignId: 'bench',
      organization: 'benchco',
      status: 'snapshotting',
      trigger: 'bench',
      requestedBy: 'bench',
      executionName: 'bench',
      startedAt: '2026-10-01T09:00:00.000Z',
      counts: {},
    });
    await store.grants.putMany(stored('bench'));
    const appendsMs = await time(async () => {
      for (let i = 0; i < 100; i++)
        await store.events.append('bench', 'decision_recorded', { i }, new Date());
    });
    const concurrentAppendsMs = await time(() =>
      Promise.all(
        Array.from({ length: 10 }, async (_, writer) => {
          for (let i = 0; i < 10; i++)
            await store.events.append('bench', 'decision_recorded', { writer, i }, new Date());
        }),
      ),
    );
    const dir = await mkdtemp(join(tmpdir(), 'access-review-bench-'));
    const exportMs = await time(() => exportEvidence(store, 'bench', dir));
    await rm(dir, { recursive: true, force: true });
    const ratio = (ms: number) => `${(ms / baselineMs).toFixed(2)}×`;
    if (pass > 0)
      rows.push([
        String(grants.length),
        `${baselineMs.toFixed(0)} ms`,
        ratio(snapshotMs),
        ratio(exportMs),
        ratio(appendsMs),
        ratio(concurrentAppendsMs),
        Object.entries(connector.usage().requests)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([budget, count]) => `${budget} ${count}`)
          .join(', '),
        String(Math.round(connector.usage().requests.core ?? 0) / (10 * scale)),
      ]);
    await dynamo.close();
    await sandbox.close();
  }
  const header = [
    'grants',
    'baseline: write N grants',
    'snapshot (GitHub sandbox read)',
    'evidence export',
    '100 event appends, 1 writer',
    '100 event appends, 10 writers',
    'GitHub requests by budget',
    'REST calls per repository',
  ];
  printTable(header, rows);
}

async function awsSection(): Promise<void> {
  console.log('\nAWS: one account, read by the connector from the local AWS sandbox');
  const [awsHeader, ...awsRows] = await awsBenchmark();
  printTable(awsHeader ?? [], awsRows);
}

/** Each section prints its own tables; `npm run bench -- --only clicks,evidence` runs some of them. */
const SECTIONS: Record<string, () => Promise<void>> = {
  store: storeBenchmark,
  aws: awsSection,
  'github-scale': async () => print(await (await import('./github-scale')).githubScaleBenchmark()),
  'reviewer-concurrency': async () =>
    print(await (await import('./reviewer-concurrency')).reviewerConcurrencyBenchmark()),
  'call-budget': async () => print(await (await import('./call-budget')).callBudgetBenchmark()),
  shards: async () => print(await (await import('./campaign-cost')).campaignCostBenchmark()),
  clicks: async () => print(await (await import('./clicks')).clicksBenchmark()),
  evidence: async () => print(await (await import('./evidence')).evidenceBenchmark()),
  'config-load': async () => print(await (await import('./config-load')).configLoadBenchmark()),
  bundles: async () => print(await (await import('./bundles')).bundlesBenchmark()),
};

function print(markdown: string): void {
  console.log(`\n${markdown}`);
}

async function main(): Promise<void> {
  const only = process.argv.indexOf('--only');
  const chosen =
    only >= 0 ? (process.argv[only + 1] ?? '').split(',').filter(Boolean) : Object.keys(SECTIONS);
  const unknown = chosen.filter((name) => !(name in SECTIONS));
  if (unknown.length > 0) {
    throw new Error(
      `unknown bench section(s): ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`,
    );
  }
  for (const name of chosen) {
    console.log(`\n## ${name}`);
    await SECTIONS[name]!();
  }
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join(' | ');
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of rows) console.log(format(row));
}

await main();
