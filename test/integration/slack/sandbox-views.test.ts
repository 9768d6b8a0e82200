import { createServer, type Server } from 'node:http';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from '../../../sandbox/loopback';
import { clickButton, ViewInputError } from '../../../sandbox/slack/interactions';
import { type SlackSandbox, startSlackSandbox } from '../../../sandbox/slack/server';

/**
 * The Slack sandbox's user groups, views (modals and Home tabs), trigger ids and thread replies,
 * driven by a real Bolt app (HTTPReceiver) and WebClient: a slash command opens a modal, its
 * submission reaches the app's view listener, app_home_opened publishes a Home tab.
 */

const TOKEN = 'xoxb-views-token';
const SECRET = 'views-signing-secret';
const users = [
  { id: 'U0ALICE01', name: 'alice', email: 'alice@acme.example' },
  { id: 'U0BOB0001', name: 'bob', email: 'bob@acme.example' },
];
let nowMs = Date.UTC(2026, 11, 2, 8, 0, 0);

let sandbox: SlackSandbox;
let client: WebClient;
let server: Server;
let appUrl: string;
const seen: Array<{ kind: string; body: Record<string, unknown> }> = [];
const listenerErrors: unknown[] = [];

const modal = (callbackId: string, extra: Record<string, unknown> = {}) => ({
  type: 'modal',
  callback_id: callbackId,
  private_metadata: '{"c":"camp-1","g":"grant-1"}',
  title: { type: 'plain_text', text: 'Why keep it?' },
  submit: { type: 'plain_text', text: 'Keep' },
  blocks: [
    {
      type: 'input',
      block_id: 'reason',
      label: { type: 'plain_text', text: 'Reason' },
      element: { type: 'plain_text_input', action_id: 'text', multiline: true, min_length: 5 },
    },
    {
      type: 'input',
      block_id: 'who',
      optional: true,
      label: { type: 'plain_text', text: 'Hand to' },
      element: { type: 'users_select', action_id: 'user' },
    },
  ],
  ...extra,
});

beforeAll(async () => {
  sandbox = await startSlackSandbox({
    users,
    botToken: TOKEN,
    userGroups: [
      { id: 'S0SECTEAM', handle: 'security-team', users: ['U0ALICE01'] },
      { id: 'S0OLDTEAM', handle: 'old-team', users: ['U0BOB0001'], disabled: true },
    ],
    clock: () => new Date(nowMs),
  });
  client = new WebClient(TOKEN, {
    slackApiUrl: sandbox.apiUrl,
    retryConfig: { retries: 0 },
    logLevel: LogLevel.ERROR,
  });
  const receiver = new HTTPReceiver({ signingSecret: SECRET, logLevel: LogLevel.ERROR });
  const app = new App({
    receiver,
    token: TOKEN,
    clientOptions: { slackApiUrl: sandbox.apiUrl, retryConfig: { retries: 0 } },
    logLevel: LogLevel.ERROR,
  });
  app.error(async (error) => {
    listenerErrors.push(error);
  });
  app.command('/access-review', async ({ ack, body, client: web }) => {
    seen.push({ kind: 'command', body: { ...body } });
    await web.views.open({ trigger_id: body.trigger_id, view: modal('review_justification') as never });
    await ack({ response_type: 'ephemeral', text: `got ${body.text}` });
  });
  app.view('review_justification', async ({ ack, body }) => {
    seen.push({ kind: 'view', body: body as unknown as Record<string, unknown> });
    const reason = body.view.state.values.reason?.text?.value ?? '';
    if (reason.includes('bad')) await ack({ response_action: 'errors', errors: { reason: 'Say more' } });
    else await ack();
  });
  app.action('open_modal', async ({ ack, body, client: web }) => {
    await ack();
    await web.views.open({
      trigger_id: (body as { trigger_id: string }).trigger_id,
      view: modal('review_justification') as never,
    });
  });
  app.event('app_home_opened', async ({ event, client: web }) => {
    seen.push({ kind: 'home', body: event as unknown as Record<string, unknown> });
    await web.views.publish({
      user_id: event.user,
      view: {
        type: 'home',
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `Hello <@${event.user}>` } }],
      },
    });
  });
  server = createServer(receiver.requestListener);
  appUrl = `${await listenOnLoopback(server)}/slack/events`;
});

afterAll(async () => {
  await sandbox.close();
  await new Promise((resolve) => server.close(resolve));
});

afterEach(() => {
  expect(sandbox.takeListenerErrors()).toEqual([]);
  expect(listenerErrors).toEqual([]);
  seen.length = 0;
});

async function slackError(call: Promise<unknown>): Promise<{ error: string; messages?: string[] }> {
  try {
    await call;
  } catch (error) {
    const data = (error as { data?: { error?: string; response_metadata?: { messages?: string[] } } }).data;
    return {
      error: data?.error ?? 'none',
      ...(data?.response_metadata?.messages ? { messages: data.response_metadata.messages } : {}),
    };
  }
  throw new Error('the call succeeded');
}

describe('usergroups.users.list', () => {
  it('answers the members of a group, and no_such_subteam for an unknown or disabled one', async () => {
    expect((await client.usergroups.users.list({ usergroup: 'S0SECTEAM' })).users).toEqual(['U0ALICE01']);
    expect(await slackError(client.usergroups.users.list({ usergroup: 'S0NOGROUP' }))).toEqual({
      error: 'no_such_subteam',
    });
    expect(await slackError(client.usergroups.users.list({ usergroup: 'S0OLDTEAM' }))).toEqual({
      error: 'no_such_subteam',
    });
    expect(
      (await client.usergroups.users.list({ usergroup: 'S0OLDTEAM', include_disabled: true })).users,
    ).toEqual(['U0BOB0001']);
  });
});

describe('views.open and view_submission', () => {
  it('a slash command carries a trigger the app exchanges for a modal; the submission reaches the app', async () => {
    const answer = await sandbox.sendCommand({
      appUrl,
      signingSecret: SECRET,
      userId: 'U0ALICE01',
      command: '/access-review',
      text: 'status',
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ text: 'got status' });
    expect(seen[0]?.body).toMatchObject({ command: '/access-review', text: 'status', user_id: 'U0ALICE01' });
    const open = sandbox.openModalOf('U0ALICE01');
    expect(open).toMatchObject({ type: 'modal', callback_id: 'review_justification' });

    // A required input cannot be left empty, nor filled beyond what the view shows.
    await expect(
      sandbox.submitView({ appUrl, signingSecret: SECRET, userId: 'U0ALICE01', values: {} }),
    ).rejects.toThrow(ViewInputError);
    await expect(
      sandbox.submitView({
        appUrl,
        signingSecret: SECRET,
        userId: 'U0ALICE01',
        values: { other: { x: 'y' } },
      }),
    ).rejects.toThrow('shows no input other/x');

    const rejected = await sandbox.submitView({
      appUrl,
      signingSecret: SECRET,
      userId: 'U0ALICE01',
      values: { reason: { text: 'a bad one' } },
    });
    expect(rejected.answer).toEqual({ action: 'errors', errors: { reason: 'Say more' } });
    expect(sandbox.openModalOf('U0ALICE01')?.id).toBe(open?.id);

    const done = await sandbox.submitView({
      appUrl,
      signingSecret: SECRET,
      userId: 'U0ALICE01',
      values: { reason: { text: 'Needed for the on-call rota' }, who: { user: 'U0BOB0001' } },
    });
    expect(done.answer).toEqual({ action: 'close' });
    expect(sandbox.openModalOf('U0ALICE01')).toBeUndefined();
    const submitted = seen.filter((entry) => entry.kind === 'view').at(-1)?.body as {
      view: { private_metadata: string; callback_id: string; state: { values: unknown } };
      trigger_id: string;
    };
    expect(submitted.view.private_metadata).toBe('{"c":"camp-1","g":"grant-1"}');
    expect(submitted.view.state.values).toEqual({
      reason: { text: { type: 'plain_text_input', value: 'Needed for the on-call rota' } },
      who: { user: { type: 'users_select', selected_user: 'U0BOB0001' } },
    });
  });

  it('refuses a trigger it never issued, one already exchanged, and one older than 3 seconds', async () => {
    expect(await slackError(client.views.open({ trigger_id: '1.2.abc', view: modal('x') as never }))).toEqual(
      {
        error: 'invalid_arguments',
        messages: ['[ERROR] invalid `trigger_id`'],
      },
    );
    const trigger = sandbox.issueTrigger('U0BOB0001');
    await client.views.open({ trigger_id: trigger, view: modal('x') as never });
    expect(await slackError(client.views.open({ trigger_id: trigger, view: modal('x') as never }))).toEqual({
      error: 'exchanged_trigger_id',
    });
    const late = sandbox.issueTrigger('U0BOB0001');
    nowMs += 3_001;
    expect(await slackError(client.views.open({ trigger_id: late, view: modal('x') as never }))).toEqual({
      error: 'expired_trigger_id',
    });
  });

  it('a click on a message carries a sandbox trigger the app can open a modal with', async () => {
    const posted = await client.chat.postMessage({
      channel: 'U0BOB0001',
      text: 'why',
      blocks: [
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              action_id: 'open_modal',
              value: 'v',
              text: { type: 'plain_text', text: 'Why' },
            },
          ],
        },
      ],
    });
    const message = sandbox.message(posted.channel as string, posted.ts as string);
    const response = await clickButton({
      appUrl,
      signingSecret: SECRET,
      user: { id: 'U0BOB0001', name: 'bob' },
      teamId: sandbox.teamId,
      channelId: posted.channel as string,
      message: message!,
      actionId: 'open_modal',
      value: 'v',
      triggerId: sandbox.issueTrigger('U0BOB0001'),
    });
    expect(response.status).toBe(200);
    await expect.poll(() => sandbox.openModalOf('U0BOB0001')?.callback_id).toBe('review_justification');
  });

  it('checks the view as Slack does: a modal needs a title of ≤ 24 characters, and submit when it has inputs', async () => {
    const long = modal('x', { title: { type: 'plain_text', text: 'A title longer than twenty-four' } });
    expect(
      (
        await slackError(
          client.views.open({ trigger_id: sandbox.issueTrigger('U0BOB0001'), view: long as never }),
        )
      ).error,
    ).toBe('invalid_arguments');
    const { submit: _submit, ...noSubmit } = modal('x');
    expect(
      await slackError(
        client.views.open({ trigger_id: sandbox.issueTrigger('U0BOB0001'), view: noSubmit as never }),
      ),
    ).toEqual({
      error: 'invalid_arguments',
      messages: [
        '[ERROR] submit is required when an input block is within the blocks array [json-pointer:/view/submit]',
      ],
    });
    // An input block is for modals and Home tabs; the sandbox refuses it in a message.
    expect(
      (
        await slackError(
          client.chat.postMessage({ channel: 'U0BOB0001', text: 't', blocks: modal('x').blocks as never }),
        )
      ).error,
    ).toBe('invalid_blocks');
  });
});

describe('views.update', () => {
  it('replaces a shown view by id, refuses a stale hash and a closed or unknown view', async () => {
    const opened = await client.views.open({
      trigger_id: sandbox.issueTrigger('U0BOB0001'),
      view: modal('x') as never,
    });
    const view = opened.view as { id: string; hash: string };
    const updated = await client.views.update({
      view_id: view.id,
      hash: view.hash,
      view: modal('x', { title: { type: 'plain_text', text: 'Updated' } }) as never,
    });
    expect((updated.view as { title: { text: string } }).title.text).toBe('Updated');
    expect(
      await slackError(client.views.update({ view_id: view.id, hash: view.hash, view: modal('x') as never })),
    ).toEqual({ error: 'hash_conflict' });
    expect(
      await slackError(client.views.update({ view_id: 'V0NOTHERE', view: modal('x') as never })),
    ).toEqual({
      error: 'not_found',
    });
    expect((await slackError(client.views.update({ view: modal('x') } as never))).error).toBe(
      'invalid_arguments',
    );
  });
});

describe('views.publish and app_home_opened', () => {
  it('app_home_opened reaches the app, which publishes the user’s Home tab; the next event carries it', async () => {
    const first = await sandbox.openAppHome({ appUrl, signingSecret: SECRET, userId: 'U0BOB0001' });
    expect(first.status).toBe(200);
    await expect.poll(() => sandbox.homeOf('U0BOB0001')?.type).toBe('home');
    expect(seen[0]?.body).toMatchObject({ type: 'app_home_opened', user: 'U0BOB0001', tab: 'home' });
    expect(seen[0]?.body.view).toBeUndefined();
    const home = sandbox.homeOf('U0BOB0001');
    expect(JSON.stringify(home?.blocks)).toContain('Hello <@U0BOB0001>');
    expect(sandbox.homeOf('U0ALICE01')).toBeUndefined();

    await sandbox.openAppHome({ appUrl, signingSecret: SECRET, userId: 'U0BOB0001' });
    await expect.poll(() => seen.length).toBe(2);
    expect((seen[1]?.body.view as { id?: string } | undefined)?.id).toBe(home?.id);
  });

  it('refuses an unknown user, a modal, and a stale hash', async () => {
    const home = { type: 'home', blocks: [{ type: 'divider' }] };
    expect(await slackError(client.views.publish({ user_id: 'U0NOBODY1', view: home as never }))).toEqual({
      error: 'invalid_arguments',
      messages: ['[ERROR] invalid `user_id`'],
    });
    expect(
      (await slackError(client.views.publish({ user_id: 'U0ALICE01', view: modal('x') as never }))).error,
    ).toBe('invalid_arguments');
    const published = await client.views.publish({ user_id: 'U0ALICE01', view: home as never });
    const hash = (published.view as { hash: string }).hash;
    await client.views.publish({ user_id: 'U0ALICE01', hash, view: home as never });
    expect(
      await slackError(client.views.publish({ user_id: 'U0ALICE01', hash, view: home as never })),
    ).toEqual({
      error: 'hash_conflict',
    });
  });
});

describe('chat.postMessage with thread_ts', () => {
  it('replies in the thread of a message of the conversation; a reply to a reply joins the parent thread', async () => {
    const parent = await client.chat.postMessage({ channel: 'U0ALICE01', text: 'the review' });
    const reply = await client.chat.postMessage({
      channel: 'U0ALICE01',
      text: 'a reminder',
      thread_ts: parent.ts as string,
    });
    expect(reply.message?.thread_ts).toBe(parent.ts);
    const nested = await client.chat.postMessage({
      channel: 'U0ALICE01',
      text: 'again',
      thread_ts: reply.ts as string,
    });
    expect(nested.message?.thread_ts).toBe(parent.ts);
    expect(
      await slackError(
        client.chat.postMessage({ channel: 'U0ALICE01', text: 'x', thread_ts: '1700000000.000100' }),
      ),
    ).toEqual({
      error: 'thread_not_found',
    });
    // The thread belongs to its conversation: the same ts in another DM is no thread.
    expect(
      await slackError(
        client.chat.postMessage({ channel: 'U0BOB0001', text: 'x', thread_ts: parent.ts as string }),
      ),
    ).toEqual({
      error: 'thread_not_found',
    });
  });
});
