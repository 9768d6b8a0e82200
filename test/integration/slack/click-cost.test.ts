import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageCapacity } from '../../../functions/slack/blocks';
import { recordDecision } from '../../../functions/steps/record-decision';
import { keys } from '../../../functions/store/table';
import { type ClickHarness, REVIEWER, startClickHarness } from '../../support/click-endpoint';
import { testServices } from '../../support/local-store';

/**
 * A click costs the same at 10 or 10,000 grants: it reads and writes single items (no query of the
 * reviewer's grants or decisions), the task item does not grow with decisions, and a message
 * longer than Slack's 50 blocks turns to the next page of open grants when the listed ones are all
 * decided. Through the real endpoint with signed clicks; DynamoDB operations counted exactly.
 */
const PAGE = pageCapacity(false);
let small: ClickHarness;
let large: ClickHarness;

beforeAll(async () => {
  small = await startClickHarness({ table: 'click-cost', campaignId: '2026-Q4-cost-small', grants: 3 });
  large = await startClickHarness({
    table: 'click-cost',
    campaignId: '2026-Q4-cost-large',
    grants: PAGE + 5,
    reuse: { dynamo: small.dynamo, store: small.store },
  });
});

afterAll(async () => {
  await large?.close();
  await small?.close();
});

async function taskItem(harness: ClickHarness) {
  const item = await harness.dynamo.table.client.send(
    new GetCommand({
      TableName: harness.dynamo.table.tableName,
      Key: { pk: keys.campaign(harness.campaignId), sk: keys.task(REVIEWER.login) },
    }),
  );
  return item.Item as Record<string, unknown>;
}

describe('the cost of a click', () => {
  it('is the same operations for 3 grants as for a page and more, none reading the whole task', async () => {
    const counted = async (harness: ClickHarness) => {
      harness.operations.clear();
      expect((await harness.click()).status).toBe(200);
      return Object.fromEntries(harness.operations);
    };
    const smallClick = await counted(small);
    const largeClick = await counted(large);
    const before = JSON.stringify(await taskItem(large));
    expect(largeClick).toEqual(smallClick);
    // One Query: the event log's head (Limit 1) to append the decision's event. Nothing scans.
    expect(largeClick.Query).toBe(1);
    expect(Object.keys(largeClick).sort()).toEqual([
      'BatchGetItem',
      'GetItem',
      'PutItem',
      'Query',
      'UpdateItem',
    ]);
    // The task item holds counters, not the decided grants: another decision keeps its attributes
    // and its size (give or take a digit).
    await counted(large);
    const after = await taskItem(large);
    expect(Object.keys(after).sort()).toEqual(Object.keys(JSON.parse(before)).sort());
    expect(Math.abs(JSON.stringify(after).length - before.length)).toBeLessThanOrEqual(2);
    expect(after).toMatchObject({ decidedCount: 2, keptCount: 2 });
    // A double click (two requests at once from the same view) is one decision, counted once.
    const seen = large.slack.message(large.channel, large.messageTs);
    const grantId = large.openInMessage()[0];
    const both = await Promise.all([large.click({ grantId, seen }), large.click({ grantId, seen })]);
    expect(both.map((answer) => answer.status)).toEqual([200, 200]);
    expect(await taskItem(large)).toMatchObject({ decidedCount: 3, keptCount: 3 });
  });

  it('turns to the next page once every listed grant is decided, then closes on the last', async () => {
    const { store, campaignId } = large;
    const listed = large.openInMessage();
    // The first page lists the first grants in task order that fit under their resource lines
    // (four grants per repository, scattered by grant id: 19 of them, 3 already decided above).
    const FIRST_PAGE = 19;
    expect(listed.length).toBe(FIRST_PAGE - 3);
    // Decided elsewhere (their redraws lost): the click on the last listed grant still sees them.
    const services = testServices(store, { tasks: { succeed: async () => undefined } });
    for (const grantId of listed.slice(0, -1)) {
      expect(
        (
          await recordDecision(
            { campaignId, grantId, decision: 'revoke', slackUserId: REVIEWER.id },
            services,
          )
        ).kind,
      ).toBe('recorded');
    }
    large.operations.clear();
    expect((await large.click({ grantId: listed.at(-1) })).status).toBe(200);
    // The page turn reads one page of grants and their decisions.
    expect(large.operations.get('Query')).toBe(2);
    const next = large.openInMessage();
    expect(next).toHaveLength(PAGE + 5 - FIRST_PAGE);
    expect(next.filter((grantId) => listed.includes(grantId))).toEqual([]);
    const shown = JSON.stringify(large.slack.message(large.channel, large.messageTs)?.blocks);
    expect(shown).toContain(
      `Already decided and not listed: ✅ 4 kept, ❌ ${FIRST_PAGE - 4} revoke requested.`,
    );
    expect(shown).toContain(`${PAGE + 5 - FIRST_PAGE} grants still wait for a decision.`);
    for (const _ of next) expect((await large.click()).status).toBe(200);
    expect(large.resumed).toHaveLength(1);
    expect(await store.tasks.get(campaignId, REVIEWER.login)).toMatchObject({
      status: 'completed',
      decidedCount: PAGE + 5,
    });
    expect(JSON.stringify(large.slack.message(large.channel, large.messageTs)?.blocks)).toContain(
      'This review is closed',
    );
    expect(large.logged).toEqual([]);
  });
});
