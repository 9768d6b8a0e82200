import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSnapshotCheckpoint, type SnapshotCheckpoint } from '../../../functions/connectors/connector';
import { createGitHubConnector } from '../../../functions/connectors/github/connector';
import type { Grant } from '../../../functions/core/grant';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import { acmeOrganization, startSandbox, TOKEN } from './helpers';

let sandbox: GitHubSandbox;

/** A fresh connector each time, as a new Lambda invocation would build: nothing shared but the cursor. */
const connector = () =>
  createGitHubConnector({
    organization: sandbox.state.login,
    token: TOKEN,
    baseUrl: sandbox.url,
    throttle: { retryAfterBaseMs: 0, writeIntervalMs: 0, retries: 3 },
    warn: () => {},
    // One repository a page: acme's three repositories give three pages, so cuts fall between them.
    repositoriesPerPage: 1,
  });

async function run(resumeFrom?: string, stopAtCheckpoint?: number) {
  const resumable = connector().resumableSnapshot;
  if (!resumable) throw new Error('the GitHub connector has no resumableSnapshot');
  const items: Array<Grant | SnapshotCheckpoint> = [];
  let checkpoints = 0;
  for await (const item of resumable(resumeFrom)) {
    items.push(item);
    if (isSnapshotCheckpoint(item) && ++checkpoints === stopAtCheckpoint) break;
  }
  return items;
}

const grantsOf = (items: Array<Grant | SnapshotCheckpoint>) =>
  items.filter((item): item is Grant => !isSnapshotCheckpoint(item));

let full: Array<Grant | SnapshotCheckpoint>;

beforeAll(async () => {
  sandbox = await startSandbox(await acmeOrganization());
  full = await run();
}, 60_000);
afterAll(() => sandbox.close());

describe('resumable GitHub snapshot', () => {
  it('checkpoints after every page of repositories and every organisation pass', () => {
    const cursors = full.filter(isSnapshotCheckpoint).map((item) => JSON.parse(item.cursor));
    const pages = cursors.filter((cursor) => cursor.stage === 'repositories');
    // Three repositories, one a page: a checkpoint before the second and the third.
    expect(pages).toHaveLength(2);
    expect(cursors.filter((cursor) => cursor.stage === 'organization').map((cursor) => cursor.pass)).toEqual([
      0, 1, 2, 3, 4, 5,
    ]);
    for (const item of full.filter(isSnapshotCheckpoint)) expect(item.cursor.length).toBeLessThan(1024);
  });

  it('yields the same grants as snapshot(), in the same order', async () => {
    const plain: Grant[] = [];
    for await (const grant of connector().snapshot()) plain.push(grant);
    expect(plain).toEqual(grantsOf(full));
  });

  it('resumed at each checkpoint in a fresh connector, yields exactly what one run yields', async () => {
    const total = full.filter(isSnapshotCheckpoint).length;
    for (let cut = 1; cut <= total; cut++) {
      const before = await run(undefined, cut);
      const last = before.at(-1);
      if (!last || !isSnapshotCheckpoint(last)) throw new Error(`run stopped before checkpoint ${cut}`);
      const after = await run(last.cursor);
      expect([...grantsOf(before), ...grantsOf(after)], `cut at checkpoint ${cut}`).toEqual(grantsOf(full));
    }
  });

  it('resumed at any checkpoints, in fresh connectors, yields exactly what one run yields', async () => {
    const total = full.filter(isSnapshotCheckpoint).length;
    await fc.assert(
      fc.asyncProperty(
        fc
          .uniqueArray(fc.integer({ min: 1, max: total }), { maxLength: 2 })
          .map((cuts) => cuts.sort((a, b) => a - b)),
        async (cuts) => {
          const collected: Grant[] = [];
          let cursor: string | undefined;
          let passed = 0;
          for (const cut of cuts) {
            const items = await run(cursor, cut - passed);
            const last = items.at(-1);
            if (!last || !isSnapshotCheckpoint(last)) throw new Error(`run stopped before checkpoint ${cut}`);
            collected.push(...grantsOf(items));
            cursor = last.cursor;
            passed = cut;
          }
          collected.push(...grantsOf(await run(cursor)));
          expect(collected).toEqual(grantsOf(full));
        },
      ),
      { numRuns: 3 },
    );
  });

  it('resumed after the last page, yields the organisation passes and the org rulesets as one run does', async () => {
    const afterLastPage = full.findIndex(
      (item) => isSnapshotCheckpoint(item) && JSON.parse(item.cursor).stage === 'organization',
    );
    const resumed = grantsOf(await run((full[afterLastPage] as SnapshotCheckpoint).cursor));
    expect(resumed.map((grant) => grant.grantKind)).toContain('ruleset_bypass');
    expect(resumed).toEqual(grantsOf(full.slice(afterLastPage + 1)));
    // The org ruleset's tally (repositories it applies to) came through the cursor, not a re-read.
    expect(resumed.find((grant) => grant.resource.startsWith('acme/rulesets/'))?.raw.appliesTo).toBe(
      grantsOf(full).find((grant) => grant.resource.startsWith('acme/rulesets/'))?.raw.appliesTo,
    );
  });

  it('refuses a cursor it did not write, naming what is wrong', async () => {
    await expect(run('{"v":2,"stage":"later"}')).rejects.toThrow(/v must be 1; stage must be/);
    await expect(run('not json')).rejects.toThrow(/not JSON/);
  });
});
