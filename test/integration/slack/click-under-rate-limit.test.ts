import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLACK_ACK_BUDGET_MS } from '../../../functions/slack/click-budget';
import { markUnresponsive } from '../../../functions/steps/mark-unresponsive';
import { type ClickHarness, REVIEWER, startClickHarness, TASK_TOKEN } from '../../support/click-endpoint';
import { testServices } from '../../support/local-store';

/**
 * Clicks never lost to a slow Slack: with every Web API method rate limited (HTTP 429,
 * Retry-After 5 s, as Slack limits an app), a reviewer decides every grant through the real
 * endpoint. Each click is answered within Slack's 3 seconds of wall time, every decision is
 * recorded, the workflow is resumed once on the last one (so the window's end finds the review
 * complete, not unresponsive), and the message is redrawn after each click (through the click's
 * response_url, which the Web API's limits do not touch).
 */
let harness: ClickHarness;

beforeAll(async () => {
  harness = await startClickHarness({
    table: 'click-rate-limit',
    campaignId: '2026-Q4-ratelimit',
    grants: 5,
  });
});

afterAll(async () => {
  await harness?.close();
});

describe('a click while Slack rate-limits the Web API', () => {
  it('is acknowledged in time, recorded, completes the review, and redraws the message', async () => {
    const { slack, store, campaignId, channel, messageTs } = harness;
    // One click before Slack starts limiting the app (it also warms the endpoint's code paths, so
    // the times below are of clicks, not of a first-run compile).
    expect((await harness.click()).status).toBe(200);
    const lift = slack.rateLimit('*', 5);
    const answers: Array<{ status: number; ms: number; grantId: string }> = [];
    const seenFirst = slack.message(channel, messageTs);
    for (let click = 0; click < 4; click++) {
      const answer = await harness.click({ decision: click % 2 === 0 ? 'keep' : 'revoke' });
      answers.push(answer);
      // The message the reviewer sees no longer offers the grant just decided.
      expect(harness.openInMessage()).not.toContain(answer.grantId);
    }
    // A late double click on the first grant, from the message as first drawn.
    answers.push(await harness.click({ grantId: answers[0]!.grantId, seen: seenFirst }));
    lift();

    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.ms).toBeLessThan(SLACK_ACK_BUDGET_MS);
    }
    const decisions = await store.decisions.list(campaignId);
    expect(decisions).toHaveLength(5);
    expect(decisions.map((d) => d.grantId)).toEqual(
      expect.arrayContaining(answers.slice(0, 4).map((a) => a.grantId)),
    );
    expect(harness.resumed).toEqual([
      { taskToken: TASK_TOKEN, output: { reviewer: REVIEWER.login, decided: 5 } },
    ]);
    const task = await store.tasks.get(campaignId, REVIEWER.login);
    expect(task).toMatchObject({ status: 'completed', decidedCount: 5, keptCount: 3, revokedCount: 2 });

    // The window's end (MarkUnresponsive) finds the review complete.
    const atWindowEnd = await markUnresponsive(
      { campaignId, reviewer: REVIEWER.login, error: { Error: 'States.Timeout' } },
      testServices(store),
    );
    expect(atWindowEnd).toMatchObject({ status: 'completed', undecided: 0 });
    const events = (await store.events.list(campaignId)).map((e) => e.type);
    expect(events.filter((type) => type === 'decision_recorded')).toHaveLength(5);
    expect(events.filter((type) => type === 'review_completed')).toHaveLength(1);
    expect(events).not.toContain('reviewer_unresponsive');

    // Redrawn, closed, without one Web API call getting through during the clicks.
    const shown = slack.message(channel, messageTs);
    expect(shown?.edited).toBeDefined();
    expect(harness.openInMessage()).toEqual([]);
    expect(JSON.stringify(shown?.blocks)).toContain('This review is closed');
    expect(slack.calls().filter((call) => call.method.startsWith('chat.'))).toHaveLength(1);
    // The double click was told its decision was already recorded.
    expect(slack.ephemerals().at(-1)?.text).toMatch(/^Already recorded: keep/);
    expect(harness.logged).toEqual([]);
  });
});
