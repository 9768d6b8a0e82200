import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TransientError } from '../../../functions/core/errors';
import { SEND_CLAIM_MS, sendOnce } from '../../../functions/email/once';
import { sesEmailSender } from '../../../functions/email/sender';
import type { EmailSender, OutgoingEmail } from '../../../functions/email/types';
import type { Services } from '../../../functions/runtime/services';
import { createStore, type Store } from '../../../functions/store/index';
import type { TableRef } from '../../../functions/store/table';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { type LocalSes, SES_FAULTS, startLocalSes } from '../../support/local-ses';
import { createTestCampaign, startTestStore, testServices } from '../../support/local-store';

// The send-once protocol (claim, send, mark sent, append email_sent) against dynalite and the real
// SES v2 client, with the process "dying" at each step: the table refuses the next write of a
// given shape, which ends the attempt exactly where a crash would.

let dynamo: LocalDynamo;
let store: Store;
let ses: LocalSes;
let sender: EmailSender;

class Crash extends Error {}

/** A table whose next write matching `dies` throws Crash instead of being sent (once). */
function crashingStore(dies: (input: Record<string, unknown>) => boolean): Store {
  let crashed = false;
  const client = {
    send: (command: { input: Record<string, unknown> }) => {
      if (!crashed && dies(command.input)) {
        crashed = true;
        return Promise.reject(new Crash('the process died here'));
      }
      return dynamo.table.client.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  const table: TableRef = { client, tableName: dynamo.table.tableName };
  return createStore(table);
}

const email: OutgoingEmail = {
  purpose: 'summary',
  to: ['security@acme.example'],
  subject: 'access-review: summary',
  text: 'text',
  html: '<p>html</p>',
};

function services(overrides: Partial<Services> = {}): Services {
  return testServices(store, { email: sender, ...overrides });
}

async function emailEvents(campaignId: string) {
  return (await store.events.list(campaignId)).filter((event) => event.type === 'email_sent');
}

let campaigns = 0;
async function campaign(): Promise<string> {
  campaigns++;
  const campaignId = `c-once-${campaigns}`;
  await createTestCampaign(store, campaignId, 'verifying');
  return campaignId;
}

beforeAll(async () => {
  ({ dynamo, store } = await startTestStore('send-once'));
  ses = await startLocalSes({ verifiedIdentities: ['acme.example'] });
  sender = sesEmailSender(
    {
      from: 'access-review@acme.example',
      to: ['security@acme.example'],
      endpoint: ses.endpoint,
      summary: true,
      reviewTasks: true,
    },
    ses.clientConfig,
  );
}, 120_000);

afterAll(async () => {
  await ses?.close();
  await dynamo?.close();
});

beforeEach(() => ses.clear());

describe('sendOnce', () => {
  it('sends once and records one email_sent however often it is called', async () => {
    const campaignId = await campaign();
    expect(await sendOnce(services(), { campaignId, purpose: 'summary' }, () => email)).toBe('sent');
    expect(await sendOnce(services(), { campaignId, purpose: 'summary' }, () => email)).toBe('already_sent');
    // Another purpose, reviewer or number is another email.
    expect(
      await sendOnce(
        services(),
        { campaignId, purpose: 'reminder', reviewer: 'Bob', number: 1 },
        () => email,
      ),
    ).toBe('sent');
    expect(
      await sendOnce(
        services(),
        { campaignId, purpose: 'reminder', reviewer: 'bob', number: 1 },
        () => email,
      ),
    ).toBe('already_sent');
    expect(
      await sendOnce(
        services(),
        { campaignId, purpose: 'reminder', reviewer: 'bob', number: 2 },
        () => email,
      ),
    ).toBe('sent');
    expect(await ses.emails()).toHaveLength(3);
    expect((await emailEvents(campaignId)).map((event) => event.data)).toEqual([
      { purpose: 'summary', to: 1, messageId: expect.any(String) },
      { purpose: 'reminder', to: 1, reviewer: 'Bob', messageId: expect.any(String) },
      { purpose: 'reminder', to: 1, reviewer: 'bob', messageId: expect.any(String) },
    ]);
  });

  it('gives the claim back when SES fails, so the retry sends at once', async () => {
    const campaignId = await campaign();
    ses.failNext(SES_FAULTS.unavailable);
    await expect(
      sendOnce(services(), { campaignId, purpose: 'summary' }, () => email),
    ).rejects.toBeInstanceOf(TransientError);
    expect(await sendOnce(services(), { campaignId, purpose: 'summary' }, () => email)).toBe('sent');
    expect(await ses.emails()).toHaveLength(1);
    expect(await emailEvents(campaignId)).toHaveLength(1);
  });

  it('a crash after the send and before the marker: the next attempt after the claim expires sends again (the one duplicate window)', async () => {
    const campaignId = await campaign();
    const dying = crashingStore((input) => String(input.UpdateExpression ?? '').startsWith('SET sentAt'));
    await expect(
      sendOnce(services({ store: dying }), { campaignId, purpose: 'summary' }, () => email),
    ).rejects.toBeInstanceOf(Crash);
    expect(await ses.emails()).toHaveLength(1);
    // Inside the claim, with no time to wait: nothing is sent.
    const soon = () => new Date(Date.now() + 1_000);
    expect(
      await sendOnce(
        services({ now: soon, timeLeftMs: () => 5_000 }),
        { campaignId, purpose: 'summary' },
        () => email,
      ),
    ).toBe('in_progress');
    expect(await ses.emails()).toHaveLength(1);
    // Just before the claim expires, with time: it waits for the expiry, then sends again.
    const justBefore = () => new Date(Date.now() + SEND_CLAIM_MS - 400);
    expect(
      await sendOnce(services({ now: justBefore }), { campaignId, purpose: 'summary' }, () => email),
    ).toBe('sent');
    expect(await ses.emails()).toHaveLength(2);
    expect(await emailEvents(campaignId)).toHaveLength(1);
  });

  it('a crash after the marker and before the event: the next attempt records the event and sends nothing', async () => {
    const campaignId = await campaign();
    const dying = crashingStore(
      (input) => (input.Item as { type?: string } | undefined)?.type === 'email_sent',
    );
    await expect(
      sendOnce(services({ store: dying }), { campaignId, purpose: 'needs_attention' }, () => email),
    ).rejects.toBeInstanceOf(Crash);
    expect(await emailEvents(campaignId)).toHaveLength(0);
    expect(await sendOnce(services(), { campaignId, purpose: 'needs_attention' }, () => email)).toBe(
      'already_sent',
    );
    expect(await ses.emails()).toHaveLength(1);
    const [event] = await emailEvents(campaignId);
    expect(event?.data).toEqual({
      purpose: 'needs_attention',
      to: 1,
      messageId: (await ses.emails())[0]!.messageId,
    });
  });

  it('a crash after the event and before the marker notes it: no second event', async () => {
    const campaignId = await campaign();
    const dying = crashingStore((input) => String(input.UpdateExpression ?? '') === 'SET eventSeq = :seq');
    await expect(
      sendOnce(services({ store: dying }), { campaignId, purpose: 'summary' }, () => email),
    ).rejects.toBeInstanceOf(Crash);
    expect(await emailEvents(campaignId)).toHaveLength(1);
    expect(await sendOnce(services(), { campaignId, purpose: 'summary' }, () => email)).toBe('already_sent');
    expect(await emailEvents(campaignId)).toHaveLength(1);
    expect(await ses.emails()).toHaveLength(1);
  });

  it('two attempts at once send one email: the second waits and finds it sent', async () => {
    const campaignId = await campaign();
    const results = await Promise.all([
      sendOnce(services(), { campaignId, purpose: 'summary' }, () => email),
      sendOnce(services(), { campaignId, purpose: 'summary' }, () => email),
    ]);
    expect(results.sort()).toEqual(['already_sent', 'sent']);
    expect(await ses.emails()).toHaveLength(1);
    expect(await emailEvents(campaignId)).toHaveLength(1);
  });

  it('sends nothing and records nothing without a sender', async () => {
    const campaignId = await campaign();
    const without = testServices(store);
    expect(await sendOnce(without, { campaignId, purpose: 'summary' }, () => email)).toBe('not_configured');
    expect(await emailEvents(campaignId)).toHaveLength(0);
  });
});
