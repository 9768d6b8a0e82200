import { type ChatPostMessageResponse, LogLevel, WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeGrant } from '../../../functions/core/grant';
import { buildReviewMessage, type ReviewItem } from '../../../functions/slack/blocks';
import { type MessageEvent, type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';

const TOKEN = 'xoxb-sandbox-token';
const users = [
  { id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' },
  { id: 'U0BOB0001', name: 'bob', email: 'bob@acme.example' },
];

let sandbox: SlackSandbox;
let client: WebClient;
let seconds = 1_796_119_200;

beforeAll(async () => {
  // A pinned clock: message timestamps are predictable, and two posts in one second still differ.
  sandbox = await startSlackSandbox({ users, botToken: TOKEN, clock: () => new Date(seconds * 1000) });
  // No retries: a failure must surface at once, not after WebClient's back-off.
  client = new WebClient(TOKEN, {
    slackApiUrl: sandbox.apiUrl,
    retryConfig: { retries: 0 },
    logLevel: LogLevel.ERROR,
  });
});

afterAll(async () => {
  await sandbox.close();
});

afterEach(() => {
  expect(sandbox.takeListenerErrors()).toEqual([]);
});

/** A request as any HTTP client would send it, to reach what WebClient's types do not allow. */
async function raw(
  method: string,
  body: Record<string, unknown>,
  how: { token?: string | null; json?: boolean } = {},
): Promise<Record<string, unknown>> {
  const token = how.token === undefined ? TOKEN : how.token;
  const headers: Record<string, string> = {
    'Content-Type': how.json ? 'application/json; charset=utf-8' : 'application/x-www-form-urlencoded',
  };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const encoded = how.json
    ? JSON.stringify(body)
    : new URLSearchParams(
        Object.entries(body).map(([k, v]): [string, string] => [
          k,
          typeof v === 'string' ? v : JSON.stringify(v),
        ]),
      ).toString();
  const response = await fetch(`${sandbox.apiUrl}${method}`, { method: 'POST', headers, body: encoded });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

async function platformError(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return (error as { data?: { error?: string } }).data?.error ?? String(error);
  }
  throw new Error('expected the call to fail');
}

const grant = (i: number) =>
  makeGrant({
    connector: 'github',
    grantKind: 'user_repository',
    resourceType: 'repository',
    resource: `acme/repo-${i}`,
    principalType: 'user',
    principal: `user${i}`,
    entitlement: 'read',
    via: { kind: 'direct' },
  });
const reviewItems = (n: number): ReviewItem[] =>
  Array.from({ length: n }, (_, i) => ({ grant: grant(i), routingReason: 'you own the repository' }));

describe('Slack sandbox with the real WebClient', () => {
  it('answers auth.test for the bot token', async () => {
    const result = await client.auth.test();
    expect(result).toMatchObject({
      ok: true,
      team_id: sandbox.teamId,
      user_id: sandbox.bot.userId,
      bot_id: sandbox.bot.botId,
    });
  });

  it('rejects a wrong token with invalid_auth and a missing one with not_authed', async () => {
    const wrong = new WebClient('xoxb-wrong', {
      slackApiUrl: sandbox.apiUrl,
      retryConfig: { retries: 0 },
      logLevel: LogLevel.ERROR,
    });
    expect(await platformError(wrong.auth.test())).toBe('invalid_auth');
    expect(await raw('auth.test', {}, { token: null })).toEqual({ ok: false, error: 'not_authed' });
    // JSON bodies must carry the token as a Bearer header; a token field inside JSON is not read.
    expect(await raw('auth.test', { token: TOKEN }, { token: null, json: true })).toEqual({
      ok: false,
      error: 'not_authed',
    });
    // A form body may carry it as a field.
    expect(await raw('auth.test', { token: TOKEN }, { token: null })).toMatchObject({ ok: true });
  });

  it('looks users up by email and answers users_not_found for strangers', async () => {
    const found = await client.users.lookupByEmail({ email: 'Alice@acme.example' });
    expect(found.user).toMatchObject({
      id: 'U0ALICE01',
      name: 'alice',
      profile: { email: 'alice@acme.example' },
    });
    expect(await platformError(client.users.lookupByEmail({ email: 'mallory@evil.example' }))).toBe(
      'users_not_found',
    );
    expect((await client.users.info({ user: 'U0BOB0001' })).user?.name).toBe('bob');
    expect(await platformError(client.users.info({ user: 'U0NOBODY1' }))).toBe('user_not_found');
  });

  it('opens one stable DM per user', async () => {
    const first = await client.conversations.open({ users: 'U0BOB0001' });
    const again = await client.conversations.open({ users: 'U0BOB0001' });
    expect(first.channel?.id).toMatch(/^D[A-Z0-9]{10}$/);
    expect(again).toMatchObject({ ok: true, already_open: true, channel: { id: first.channel?.id } });
    expect(sandbox.dmChannelFor('U0BOB0001')).toBe(first.channel?.id);
    expect(await platformError(client.conversations.open({ users: 'U0NOBODY1' }))).toBe('user_not_found');
    expect(await raw('conversations.open', {})).toEqual({ ok: false, error: 'users_list_not_supplied' });
  });

  it('stores posted messages with unique, increasing ts and Slack-generated block ids', async () => {
    const { channel } = await client.conversations.open({ users: 'U0ALICE01' });
    const dm = channel?.id as string;
    const one = await client.chat.postMessage({ channel: dm, text: 'one', blocks: [{ type: 'divider' }] });
    const two = await client.chat.postMessage({ channel: 'U0ALICE01', text: 'two' });
    seconds += 1;
    const three = await client.chat.postMessage({ channel: dm, text: 'three' });
    expect(one.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect([one.ts, two.ts, three.ts]).toEqual([...new Set([one.ts, two.ts, three.ts])].sort());
    // Posting to a user id posts into the app's DM with that user.
    expect(two.channel).toBe(dm);
    expect(one.message).toMatchObject({ text: 'one', bot_id: sandbox.bot.botId, ts: one.ts });
    const stored = sandbox.message(dm, one.ts as string);
    expect(stored?.blocks[0]).toMatchObject({ type: 'divider', block_id: expect.stringMatching(/^.{5}$/) });
    expect(sandbox.messages(dm).map((m) => m.text)).toEqual(['one', 'two', 'three']);
  });

  it('rejects chat.postMessage without channel, without content, or with invalid blocks', async () => {
    expect(await raw('chat.postMessage', { text: 'hi' })).toEqual({ ok: false, error: 'channel_not_found' });
    expect(await raw('chat.postMessage', { channel: 'C0PUBLIC01', text: 'hi' })).toEqual({
      ok: false,
      error: 'channel_not_found',
    });
    expect(await platformError(client.chat.postMessage({ channel: 'U0ALICE01', text: '' }))).toBe('no_text');
    expect(await raw('chat.postMessage', { channel: 'U0ALICE01', blocks: '[{"type":' })).toEqual({
      ok: false,
      error: 'invalid_blocks_format',
    });
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' as const }));
    expect(
      await platformError(client.chat.postMessage({ channel: 'U0ALICE01', text: 'x', blocks: tooMany })),
    ).toBe('invalid_blocks');
    const longLabel = await raw('chat.postMessage', {
      channel: 'U0ALICE01',
      text: 'x',
      blocks: [
        {
          type: 'actions',
          elements: [{ type: 'button', text: { type: 'plain_text', text: 'k'.repeat(76) } }],
        },
      ],
    });
    expect(longLabel).toMatchObject({
      ok: false,
      error: 'invalid_blocks',
      response_metadata: { messages: [expect.stringMatching(/^\[ERROR\] must be less than 76 characters/)] },
    });
  });

  it('accepts a JSON body with blocks as an array', async () => {
    const result = await raw(
      'chat.postMessage',
      {
        channel: 'U0BOB0001',
        text: 'json',
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*hi*' } }],
      },
      { json: true },
    );
    expect(result).toMatchObject({ ok: true, channel: sandbox.dmChannelFor('U0BOB0001') });
  });

  it('updates stored messages and rejects unknown ones', async () => {
    const posted = await client.chat.postMessage({
      channel: 'U0BOB0001',
      text: 'before',
      blocks: [{ type: 'section', text: { type: 'plain_text', text: 'before' } }],
    });
    const channel = posted.channel as string;
    const ts = posted.ts as string;
    const updated = await client.chat.update({
      channel,
      ts,
      text: 'after',
      blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text: 'after' }] }],
    });
    expect(updated).toMatchObject({ ok: true, channel, ts, text: 'after' });
    expect(sandbox.message(channel, ts)).toMatchObject({
      text: 'after',
      blocks: [{ type: 'context' }],
      edited: {},
    });
    // Text alone keeps the blocks, as Slack documents.
    await client.chat.update({ channel, ts, text: 'text only' });
    expect(sandbox.message(channel, ts)?.blocks).toHaveLength(1);
    expect(await platformError(client.chat.update({ channel, ts: '1000000000.000100', text: 'x' }))).toBe(
      'message_not_found',
    );
    expect(await platformError(client.chat.update({ channel: 'D0NOWHERE1', ts, text: 'x' }))).toBe(
      'channel_not_found',
    );
    expect(
      await platformError(
        client.chat.update({ channel, ts, text: 'x', blocks: [{ type: 'nope' } as never] }),
      ),
    ).toBe('invalid_blocks');
  });

  it('records ephemerals only for the member of the DM', async () => {
    const dm = sandbox.dmChannelFor('U0ALICE01');
    const result = await client.chat.postEphemeral({ channel: dm, user: 'U0ALICE01', text: 'only you' });
    expect(result.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(sandbox.ephemerals().at(-1)).toMatchObject({ channel: dm, user: 'U0ALICE01', text: 'only you' });
    expect(
      await platformError(client.chat.postEphemeral({ channel: dm, user: 'U0BOB0001', text: 'x' })),
    ).toBe('user_not_in_channel');
  });

  it('records calls without the token', async () => {
    await client.users.lookupByEmail({ email: 'bob@acme.example' });
    const call = sandbox.calls().at(-1);
    expect(call).toMatchObject({
      method: 'users.lookupByEmail',
      ok: true,
      args: { email: 'bob@acme.example' },
    });
    expect(JSON.stringify(sandbox.calls())).not.toContain(TOKEN);
  });

  it.each([1, 12, 500])('accepts the review message for %i grants and its closed form', async (count) => {
    const open = buildReviewMessage({
      campaignId: '2026-Q4',
      reviewerLogin: 'alice',
      dueAt: '2026-12-15T09:00:00Z',
      items: reviewItems(count),
    });
    const posted: ChatPostMessageResponse = await client.chat.postMessage({ channel: 'U0ALICE01', ...open });
    expect(posted.ok).toBe(true);
    const closed = buildReviewMessage({
      campaignId: '2026-Q4',
      reviewerLogin: 'alice',
      dueAt: '2026-12-15T09:00:00Z',
      items: reviewItems(count),
      closed: { reason: 'window_closed' },
    });
    const updated = await client.chat.update({
      channel: posted.channel as string,
      ts: posted.ts as string,
      ...closed,
    });
    expect(updated.ok).toBe(true);
  });

  it('tells onMessage listeners about a message after answering, and keeps their errors', async () => {
    const seen: MessageEvent[] = [];
    const unsubscribe = sandbox.onMessage((event) => {
      seen.push(event);
    });
    const failing = sandbox.onMessage(() => {
      throw new Error('listener broke');
    });
    const posted = await client.chat.postMessage({ channel: 'U0BOB0001', text: 'ping' });
    await client.chat.update({ channel: posted.channel as string, ts: posted.ts as string, text: 'pong' });
    await expect.poll(() => seen.length).toBe(2);
    unsubscribe();
    failing();
    expect(seen.map((e) => [e.kind, e.message.text, e.message.ts])).toEqual([
      ['posted', 'ping', posted.ts],
      ['updated', 'pong', posted.ts],
    ]);
    const errors: unknown[] = [];
    await expect.poll(() => errors.push(...sandbox.takeListenerErrors())).toBe(2);
    expect(errors.map(String)).toEqual(['Error: listener broke', 'Error: listener broke']);
  });

  it('can fail the next call to a method, as Slack sometimes does', async () => {
    sandbox.failNext('chat.postMessage', { error: 'ratelimited' });
    expect(await platformError(client.chat.postMessage({ channel: 'U0BOB0001', text: 'x' }))).toBe(
      'ratelimited',
    );
    expect((await client.chat.postMessage({ channel: 'U0BOB0001', text: 'x' })).ok).toBe(true);
  });

  it('rate-limits a method for a while as Slack does (429, Retry-After, ratelimited); response_url is not limited', async () => {
    const limited = new WebClient(TOKEN, {
      slackApiUrl: sandbox.apiUrl,
      logLevel: LogLevel.ERROR,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
    });
    const lift = sandbox.rateLimit('chat.update', 5);
    const posted = await limited.chat.postMessage({ channel: 'U0ALICE01', text: 'before' });
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(
        limited.chat.update({ channel: posted.channel as string, ts: posted.ts as string, text: 'after' }),
      ).rejects.toMatchObject({ code: 'slack_webapi_rate_limited_error', retryAfter: 5 });
    }
    expect(sandbox.rateLimitedCalls().slice(-2)).toEqual([
      { method: 'chat.update', retryAfterSeconds: 5 },
      { method: 'chat.update', retryAfterSeconds: 5 },
    ]);
    const url = sandbox.responseUrlFor({
      channel: posted.channel as string,
      messageTs: posted.ts as string,
      user: 'U0ALICE01',
    });
    const replaced = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ replace_original: true, text: 'through response_url' }),
    });
    expect(replaced.status).toBe(200);
    const everything = sandbox.rateLimit('*', 1);
    await expect(limited.auth.test()).rejects.toMatchObject({ retryAfter: 1 });
    everything();
    lift();
    await limited.chat.update({ channel: posted.channel as string, ts: posted.ts as string, text: 'after' });
    expect(sandbox.message(posted.channel as string, posted.ts as string)?.text).toBe('after');
  });

  it('serves response_url: replace the original, or answer ephemerally', async () => {
    const posted = await client.chat.postMessage({ channel: 'U0ALICE01', text: 'original' });
    const url = sandbox.responseUrlFor({
      channel: posted.channel as string,
      messageTs: posted.ts as string,
      user: 'U0ALICE01',
    });
    expect(url.startsWith('http://127.0.0.1:')).toBe(true);
    const post = (body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ replace_original: true, text: 'replaced' })).status).toBe(200);
    expect(sandbox.message(posted.channel as string, posted.ts as string)?.text).toBe('replaced');
    expect((await post({ text: 'just for you' })).status).toBe(200);
    expect(sandbox.ephemerals().at(-1)).toMatchObject({
      text: 'just for you',
      user: 'U0ALICE01',
      via: 'response_url',
    });
    expect((await post({ replace_original: true, blocks: [{ type: 'bogus' }] })).status).toBe(400);
  });
});
