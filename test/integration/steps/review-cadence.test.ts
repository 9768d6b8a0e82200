import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../functions/core/config';
import type { Services } from '../../../functions/runtime/services';
import { awaitReview, ReviewTaskClosedError } from '../../../functions/steps/await-review';
import { handedOverGrantsOf, reassignGrants } from '../../../functions/steps/reassign-grants';
import { sendReminder, sendRemindersNow } from '../../../functions/steps/reminders';
import { requestReview } from '../../../functions/steps/request-review';
import { reviewCheckpoint } from '../../../functions/steps/review-checkpoint';
import type { Store } from '../../../functions/store/index';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';
import { startTestStore, testServices } from '../../support/local-store';
import { seedReviewTask } from '../../support/review-task';

/**
 * A reviewer's calendar, step by step against dynalite and the Slack sandbox: the request starts
 * the window once, each checkpoint reminds or escalates once however often it is retried, and the
 * window's end says close. One review hour lasts HOUR seconds of a clock the test moves.
 */
const ALICE = 'U0ALICE01';
const BOB = 'U0BOB0001';
const CAROL = 'U0CAROL01';
const HOUR = 10;

const config = parseConfig({
  github: { organization: 'acme' },
  routing: { fallbackReviewers: ['alice', 'bob'] },
  people: [
    { github: 'alice', email: 'alice@acme.example' },
    { github: 'bob', email: 'bob@acme.example' },
    { github: 'carol', email: 'carol@acme.example' },
  ],
  review: { windowHours: 336, reminderHours: [72, 168], escalateAfterHours: 240 },
});

let dynamo: LocalDynamo;
let slack: SlackSandbox;
let store: Store;
let services: Services;
let clock: number;
let campaignId: string;
let grantIds: string[];
let counter = 0;
/** Messages already in each DM before this test: a person's DM channel is the same in every campaign. */
let seen: Map<string, number>;

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('review-cadence'));
  slack = await startSlackSandbox({
    users: [
      { id: ALICE, name: 'alice', email: 'alice@acme.example' },
      { id: BOB, name: 'bob', email: 'bob@acme.example' },
      { id: CAROL, name: 'carol', email: 'carol@acme.example' },
    ],
    botToken: 'xoxb-test',
  });
  const client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  services = testServices(store, {
    config,
    slack: async () => client,
    now: () => new Date(clock),
    reviewHourSeconds: HOUR,
  });
});

afterAll(async () => {
  await slack?.close();
  await dynamo?.close();
});

beforeEach(async () => {
  clock = Date.parse('2026-12-01T09:00:00Z');
  seen = new Map([ALICE, BOB, CAROL].map((user) => [user, slack.messages(slack.dmChannelFor(user)).length]));
  campaignId = `cadence-${++counter}`;
  // carol's grant can go to bob; bob's own grant cannot (he holds it, and alice is the reviewer).
  grantIds = await seedReviewTask(store, {
    campaignId,
    reviewer: 'alice',
    slackUserId: ALICE,
    principals: ['carol', 'bob'],
    entitlement: 'write',
  });
});

const hours = (n: number) => n * HOUR * 1000;
const eventsOf = async (type: string) =>
  (await store.events.list(campaignId)).filter((event) => event.type === type);
/** This test's messages in the person's DM. */
const dmOf = (user: string) => slack.messages(slack.dmChannelFor(user)).slice(seen.get(user) ?? 0);
const aliceDm = () => dmOf(ALICE);

describe('RequestReview', () => {
  it('starts the window once: a retry neither moves the due date nor sends or records a second request', async () => {
    const first = await requestReview({ campaignId, reviewer: 'alice' }, services);
    // The first checkpoint is the first reminder, 72 review hours after the request.
    expect(first).toEqual({ campaignId, reviewer: 'alice', waitSeconds: 72 * HOUR });
    const task = await store.tasks.get(campaignId, 'alice');
    expect(task).toMatchObject({
      status: 'awaiting',
      requestedAt: new Date(clock).toISOString(),
      dueAt: new Date(clock + hours(336)).toISOString(),
    });
    clock += 5_000;
    const retried = await requestReview({ campaignId, reviewer: 'alice' }, services);
    expect(retried.waitSeconds).toBe(72 * HOUR - 5);
    expect(await store.tasks.get(campaignId, 'alice')).toMatchObject({
      requestedAt: task!.requestedAt,
      dueAt: task!.dueAt,
    });
    expect(aliceDm().filter((message) => !message.threadTs)).toHaveLength(1);
    expect(await eventsOf('review_requested')).toHaveLength(1);
  });

  it('sends nothing for a task already closed, and AwaitReview then ends the child', async () => {
    await store.tasks.close(campaignId, 'alice', 'cancelled', new Date(clock));
    expect(await requestReview({ campaignId, reviewer: 'alice' }, services)).toMatchObject({
      waitSeconds: 1,
    });
    expect(aliceDm()).toHaveLength(0);
    await expect(awaitReview({ campaignId, reviewer: 'alice', taskToken: 't-1' }, services)).rejects.toThrow(
      ReviewTaskClosedError,
    );
  });
});

describe('AwaitReview', () => {
  it('swaps the token without moving the window, so the last click resumes the newest wait', async () => {
    await requestReview({ campaignId, reviewer: 'alice' }, services);
    const before = await store.tasks.get(campaignId, 'alice');
    clock += hours(100);
    expect(await awaitReview({ campaignId, reviewer: 'alice', taskToken: 't-2' }, services)).toEqual({
      outcome: 'waiting',
    });
    const closed = await store.tasks.close(campaignId, 'alice', 'completed', new Date(clock));
    expect(closed?.taskToken).toBe('t-2');
    expect(closed?.task).toMatchObject({ requestedAt: before!.requestedAt, dueAt: before!.dueAt });
  });
});

describe('ReviewCheckpoint', () => {
  beforeEach(async () => {
    await requestReview({ campaignId, reviewer: 'alice' }, services);
  });

  it('reminds in the DM thread once per reminder, however often the checkpoint is retried', async () => {
    clock += hours(72);
    const first = await reviewCheckpoint({ campaignId, reviewer: 'alice' }, services);
    expect(first).toMatchObject({ next: 'wait', waitSeconds: (168 - 72) * HOUR, did: ['reminder'] });
    const again = await reviewCheckpoint({ campaignId, reviewer: 'alice' }, services);
    expect(again).toMatchObject({ next: 'wait', did: [] });
    const dm = aliceDm();
    const parent = dm.find((message) => !message.threadTs)!;
    const replies = dm.filter((message) => message.threadTs === parent.ts);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toMatch(/^Reminder 1 of 2: 2 grants still wait for your decision, due /);
    expect(replies[0]!.text).toContain('2026-12-01 09:56 UTC');
    const events = await eventsOf('reminder_sent');
    expect(events.map((event) => event.data)).toEqual([
      { reviewer: 'alice', number: 1, channel: 'slack', undecided: 2, sentAt: new Date(clock).toISOString() },
    ]);
  });

  it('records a reminder once when two checkpoints send it at the same moment (the conditional claim)', async () => {
    clock += hours(72);
    // Both read the task before either recorded anything, as two overlapping Lambda attempts do.
    const task = (await store.tasks.get(campaignId, 'alice'))!;
    const outcomes = await Promise.all([sendReminder(services, task, 1), sendReminder(services, task, 1)]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['already_sent', 'sent']);
    expect((await eventsOf('reminder_sent')).map((event) => event.data.number)).toEqual([1]);
    expect((await store.tasks.get(campaignId, 'alice'))?.remindersSent).toBe(1);
  });

  it('escalates undecided grants to the next eligible reviewer, never to a holder, and hands them over in one DM', async () => {
    clock += hours(240);
    const result = await reviewCheckpoint({ campaignId, reviewer: 'alice' }, services);
    // Escalation first; then the latest reminder due (the one at 168 h, never sent: this checkpoint
    // ran late) about what is still alice's: bob's grant, which nobody else could take.
    expect(result).toMatchObject({
      next: 'wait',
      waitSeconds: (336 - 240) * HOUR,
      did: ['escalation', 'reminder'],
    });
    expect((await eventsOf('reminder_sent')).map((event) => event.data)).toEqual([
      expect.objectContaining({ reviewer: 'alice', number: 2, undecided: 1 }),
    ]);
    const [carolGrant, bobGrant] = grantIds;
    expect(await store.grants.get(campaignId, carolGrant!)).toMatchObject({
      reviewer: 'alice',
      assignee: 'bob',
      assigneeSlackUserId: BOB,
      assignedBy: 'escalation',
    });
    // bob holds the other grant: it stays with alice (nobody else is eligible).
    expect((await store.grants.get(campaignId, bobGrant!))?.assignee).toBeUndefined();
    expect((await store.grants.get(campaignId, carolGrant!))?.reassignPending).toBeUndefined();
    expect((await eventsOf('grant_reassigned')).map((event) => event.data)).toEqual([
      {
        grantId: carolGrant,
        taskReviewer: 'alice',
        from: 'alice',
        to: 'bob',
        toSlackUserId: BOB,
        by: 'escalation',
        actorSlackUserId: null,
        note: 'no decision from alice within 240 hours of the request',
      },
    ]);
    const bobDm = dmOf(BOB);
    const handover = bobDm.find((message) => !message.threadTs)!;
    expect(JSON.stringify(handover.blocks)).toContain(`review_keep:${carolGrant}`);
    expect(JSON.stringify(handover.blocks)).not.toContain(bobGrant!);
    expect(bobDm.filter((message) => message.threadTs === handover.ts).map((m) => m.text)).toEqual([
      "1 grant of alice's review was escalated to you: alice had not decided it in time. Note: no decision from alice within 240 hours of the request",
    ]);
    expect((await store.tasks.get(campaignId, 'alice'))?.escalatedAt).toBe(new Date(clock).toISOString());
    // Retried: nothing moves twice, no second event, no second handover message.
    await reviewCheckpoint({ campaignId, reviewer: 'alice' }, services);
    expect(await eventsOf('grant_reassigned')).toHaveLength(1);
    expect(dmOf(BOB).filter((message) => !message.threadTs)).toHaveLength(1);
  });

  it('sends a reminder on request, numbered after the last, which the calendar then does not repeat', async () => {
    clock += hours(10);
    expect(await sendRemindersNow({ campaignId, requestedBy: 'U0SEC0001 (sec)' }, services)).toEqual({
      reminded: [{ reviewer: 'alice', channel: 'slack', undecided: 2 }],
      failed: [],
    });
    clock += hours(62);
    // Reminder 1 is already in the chain: the checkpoint at 72 h sends nothing more.
    expect(await reviewCheckpoint({ campaignId, reviewer: 'alice' }, services)).toMatchObject({ did: [] });
    expect((await eventsOf('reminder_sent')).map((event) => event.data.number)).toEqual([1]);
    expect(aliceDm().filter((message) => message.threadTs)).toHaveLength(1);
  });

  it('says close at the end of the window, and done for a task that closed between two waits', async () => {
    clock += hours(336);
    expect(await reviewCheckpoint({ campaignId, reviewer: 'alice' }, services)).toMatchObject({
      next: 'close',
      waitSeconds: 0,
      did: [],
    });
    await store.tasks.close(campaignId, 'alice', 'completed', new Date(clock));
    expect(await reviewCheckpoint({ campaignId, reviewer: 'alice' }, services)).toMatchObject({
      next: 'done',
    });
  });
});

describe('reassignGrants', () => {
  beforeEach(async () => {
    await requestReview({ campaignId, reviewer: 'alice' }, services);
  });

  const delegate = (to: string, toSlackUserId: string, ids = grantIds) =>
    reassignGrants(
      {
        campaignId,
        grantIds: ids,
        from: 'alice',
        to,
        toSlackUserId,
        by: 'delegation',
        actorSlackUserId: ALICE,
        note: 'on leave',
      },
      services,
    );

  it('never hands a grant to its holder, by login or by Slack user id', async () => {
    const outcome = await delegate('bob', BOB);
    expect(outcome.moved).toEqual([grantIds[0]]);
    expect(outcome.skipped).toEqual([{ grantId: grantIds[1], reason: 'own_access' }]);
    // carol, through the Slack id of a holder: her own grant is refused even under another login.
    await store.grants.assign(campaignId, grantIds[1]!, 'alice', 'fallback reviewer', [CAROL]);
    const byId = await reassignGrants(
      {
        campaignId,
        grantIds: [grantIds[1]!],
        from: 'alice',
        to: 'carol',
        toSlackUserId: CAROL,
        by: 'delegation',
        actorSlackUserId: ALICE,
        note: null,
      },
      services,
    );
    expect(byId.skipped).toEqual([{ grantId: grantIds[1], reason: 'own_access' }]);
  });

  it('moves only undecided grants still the sender’s, and records each move once', async () => {
    await store.decisions.record({
      campaignId,
      grantId: grantIds[0]!,
      decision: 'keep',
      reviewer: 'alice',
      decidedBySlackUserId: ALICE,
      decidedAt: new Date(clock).toISOString(),
      channel: 'slack',
    });
    expect((await delegate('bob', BOB, [grantIds[0]!])).skipped).toEqual([
      { grantId: grantIds[0], reason: 'decided' },
    ]);
    // bob's grant goes to carol; alice can no longer hand it on, carol can.
    expect((await delegate('carol', CAROL, [grantIds[1]!])).moved).toEqual([grantIds[1]]);
    expect((await delegate('carol', CAROL, [grantIds[1]!])).moved).toEqual([grantIds[1]]);
    expect(await eventsOf('grant_reassigned')).toHaveLength(1);
    const fromBob = await reassignGrants(
      {
        campaignId,
        grantIds: [grantIds[1]!],
        from: 'bob',
        to: 'alice',
        toSlackUserId: ALICE,
        by: 'delegation',
        actorSlackUserId: BOB,
        note: null,
      },
      services,
    );
    expect(fromBob.skipped).toEqual([{ grantId: grantIds[1], reason: 'not_from' }]);
    expect((await handedOverGrantsOf(services, campaignId, 'carol')).map((grant) => grant.grantId)).toEqual([
      grantIds[1],
    ]);
  });

  it('finishes the event of a handover whose Lambda stopped after moving the grant (the outbox)', async () => {
    const pendingEvent = {
      grantId: grantIds[1],
      taskReviewer: 'alice',
      from: 'alice',
      to: 'carol',
      toSlackUserId: CAROL,
      by: 'delegation',
      actorSlackUserId: ALICE,
      note: 'on leave',
    };
    expect(
      await store.grants.reassign(campaignId, grantIds[1]!, {
        taskReviewer: 'alice',
        from: 'alice',
        to: 'carol',
        toSlackUserId: CAROL,
        by: 'delegation',
        pendingEvent,
      }),
    ).toBe(true);
    expect(await eventsOf('grant_reassigned')).toHaveLength(0);
    expect((await delegate('carol', CAROL, [grantIds[1]!])).moved).toEqual([grantIds[1]]);
    expect((await eventsOf('grant_reassigned')).map((event) => event.data)).toEqual([pendingEvent]);
    expect((await store.grants.get(campaignId, grantIds[1]!))?.reassignPending).toBeUndefined();
  });

  it('refuses a handover to oneself or to someone not in people', async () => {
    await expect(delegate('alice', ALICE)).rejects.toThrow(/themselves/);
    await expect(delegate('mallory', 'U0MALLORY')).rejects.toThrow(/not listed in people/);
  });
});
