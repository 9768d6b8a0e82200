import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Services, TaskCompleter } from '../../../functions/runtime/services';
import { markUnresponsive } from '../../../functions/steps/mark-unresponsive';
import { recordDecision } from '../../../functions/steps/record-decision';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';
import { startTestStore, testServices } from '../../support/local-store';
import { seedReviewTask } from '../../support/review-task';

/**
 * The end of a review task, where a last click, a Slack retry and the review window closing meet.
 * The steps run against dynalite and the Slack sandbox; the workflow's token is recorded.
 */
const ALICE = 'U0ALICE01';

let dynamo: LocalDynamo;
let slack: SlackSandbox;
let store: Store;
let sent: Array<{ token: string; output: Record<string, unknown> }>;
let tokenIsDead: boolean;
let services: Services;
let campaignCounter = 0;

const tasks: TaskCompleter = {
  async succeed(token, output) {
    if (tokenIsDead) throw Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut' });
    sent.push({ token, output });
  },
};

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('review-window'));
  slack = await startSlackSandbox({
    users: [{ id: ALICE, name: 'alice', email: 'alice@acme.example' }],
    botToken: 'xoxb-test',
  });
  const client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl });
  services = testServices(store, { slack: async () => client, tasks });
});

afterAll(async () => {
  await slack?.close();
  await dynamo?.close();
});

let campaignId: string;
let grantIds: string[];

beforeEach(async () => {
  sent = [];
  tokenIsDead = false;
  campaignId = `c-${++campaignCounter}`;
  grantIds = await seedReviewTask(store, {
    campaignId,
    reviewer: 'alice',
    slackUserId: ALICE,
    principals: ['bob', 'carol'],
    entitlement: 'write',
  });
  await store.tasks.storeToken(campaignId, 'alice', `token-${campaignId}`, new Date(), new Date());
});

const click = (grantId: string, decision: 'keep' | 'revoke' = 'keep') =>
  recordDecision({ campaignId, grantId, decision, slackUserId: ALICE }, services);

describe('the end of a review task', () => {
  it('resumes the workflow once, with the last decision', async () => {
    expect((await click(grantIds[0]!)).kind).toBe('recorded');
    expect(sent).toHaveLength(0);
    const [first, second] = await Promise.all([click(grantIds[1]!, 'revoke'), click(grantIds[1]!, 'revoke')]);
    expect([first.kind, second.kind].sort()).toEqual(['duplicate', 'recorded']);
    expect(sent).toEqual([{ token: `token-${campaignId}`, output: { reviewer: 'alice', decided: 2 } }]);
    expect((await store.tasks.get(campaignId, 'alice'))?.status).toBe('completed');
  });

  it('refuses a click after the review window closed, and writes nothing', async () => {
    await click(grantIds[0]!);
    const closed = await markUnresponsive(
      { campaignId, reviewer: 'alice', error: { Error: 'States.Timeout' } },
      services,
    );
    expect(closed).toMatchObject({ status: 'unresponsive', undecided: 1 });
    const before = (await store.events.list(campaignId)).length;
    const late = await click(grantIds[1]!, 'revoke');
    expect(late).toEqual({
      kind: 'refused',
      reason: 'The review window for this task has closed; the grant was left undecided.',
    });
    expect(await store.decisions.get(campaignId, grantIds[1]!)).toBeUndefined();
    expect((await store.events.list(campaignId)).length).toBe(before);
    expect(sent).toHaveLength(0);
  });

  it('counts a reviewer who decided everything as complete when only the window resumes the workflow', async () => {
    // Both decisions are written, but the last click died before it could complete the task.
    for (const grantId of grantIds) {
      await store.decisions.record({
        campaignId,
        grantId,
        decision: 'keep',
        reviewer: 'alice',
        decidedBySlackUserId: ALICE,
        decidedAt: new Date().toISOString(),
        channel: 'slack',
      });
      if (await store.decisions.markCounted(campaignId, grantId)) {
        await store.tasks.countDecision(campaignId, 'alice', 'keep');
      }
    }
    expect((await store.tasks.get(campaignId, 'alice'))?.status).toBe('awaiting');
    const result = await markUnresponsive(
      { campaignId, reviewer: 'alice', error: { Error: 'States.Timeout' } },
      services,
    );
    expect(result).toMatchObject({ status: 'completed', undecided: 0 });
    // The token is dead by now: MarkUnresponsive never sends it.
    expect(sent).toHaveLength(0);
    const events = await store.events.list(campaignId);
    expect(events.filter((e) => e.type === 'review_completed')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'reviewer_unresponsive')).toHaveLength(0);
  });

  it('does not complete a task while a claimed grant has no decision, and refuses it after the window', async () => {
    // A click on the first grant died before writing its decision: it left nothing behind.
    expect((await click(grantIds[1]!)).kind).toBe('recorded');
    expect((await store.tasks.get(campaignId, 'alice'))?.status).toBe('awaiting');
    expect(sent).toHaveLength(0);
    const closed = await markUnresponsive(
      { campaignId, reviewer: 'alice', error: { Error: 'States.Timeout' } },
      services,
    );
    expect(closed).toMatchObject({ status: 'unresponsive', undecided: 1 });
    expect((await click(grantIds[0]!)).kind).toBe('refused');
    expect(await store.decisions.get(campaignId, grantIds[0]!)).toBeUndefined();
  });

  it('completes without failing when the token died just before the last decision', async () => {
    tokenIsDead = true;
    await click(grantIds[0]!);
    const last = await click(grantIds[1]!);
    expect(last.kind).toBe('recorded');
    expect((await store.tasks.get(campaignId, 'alice'))?.status).toBe('completed');
  });

  it('lets a second click finish a task whose first click died before completing it', async () => {
    await click(grantIds[0]!);
    // The first click on the last grant wrote the decision, then its Lambda died.
    await store.decisions.record({
      campaignId,
      grantId: grantIds[1]!,
      decision: 'keep',
      reviewer: 'alice',
      decidedBySlackUserId: ALICE,
      decidedAt: new Date().toISOString(),
      channel: 'slack',
    });
    expect((await store.tasks.get(campaignId, 'alice'))?.status).toBe('awaiting');
    const retry = await click(grantIds[1]!);
    expect(retry.kind).toBe('duplicate');
    expect(sent).toHaveLength(1);
    expect((await store.tasks.get(campaignId, 'alice'))?.status).toBe('completed');
  });

  it('never tells the workflow anything from MarkUnresponsive', async () => {
    await click(grantIds[0]!);
    await click(grantIds[1]!);
    sent = [];
    await markUnresponsive({ campaignId, reviewer: 'alice' }, services);
    expect(sent).toHaveLength(0);
  });
});
