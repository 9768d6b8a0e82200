import { createHmac, timingSafeEqual } from 'node:crypto';
import { isValidSlackRequest } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../functions/core/errors';
import { makeGrant } from '../../../functions/core/grant';
import { buildReviewMessage, parseReasonValue, REASONS } from '../../../functions/slack/blocks';
import {
  ButtonNotFoundError,
  buildBlockActionsRequest,
  buildOverflowActionRequest,
  type ChooseOverflowOptionOptions,
  type ClickButtonOptions,
  OverflowOptionNotFoundError,
  signSlackRequest,
} from '../../../sandbox/slack/interactions';

const SECRET = 'sandbox-signing-secret';
const grant = makeGrant({
  connector: 'github',
  grantKind: 'user_repository',
  resourceType: 'repository',
  resource: 'acme/api',
  principalType: 'user',
  principal: 'frank',
  entitlement: 'admin',
  via: { kind: 'direct' },
});
const built = buildReviewMessage({
  campaignId: '2026-Q4',
  reviewerLogin: 'alice',
  dueAt: '2026-12-15T09:00:00Z',
  items: [{ grant, routingReason: 'you own acme/api' }],
});
const value = JSON.stringify({ c: '2026-Q4', g: grant.grantId });
const now = new Date('2026-12-01T10:00:00.250Z');

function options(overrides: Partial<ClickButtonOptions> = {}): ClickButtonOptions {
  return {
    appUrl: 'http://127.0.0.1:1/slack/events',
    signingSecret: SECRET,
    user: { id: 'U0ALICE01', name: 'alice' },
    teamId: 'T0SANDBOX1',
    channelId: 'D0123456789',
    message: { ts: '1764583200.000100', blocks: built.blocks, text: built.text },
    actionId: `review_revoke:${grant.grantId}`,
    value,
    now,
    ...overrides,
  };
}

/** Slack's recipe, written out again here so the test does not trust the code it tests. */
function independentlyValid(body: string, timestamp: string, signature: string): boolean {
  const expected = Buffer.from(
    `v0=${createHmac('sha256', SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`,
  );
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

describe('signed block_actions requests', () => {
  it('signs the exact body so that an independent check and Bolt both accept it', () => {
    const request = buildBlockActionsRequest(options());
    const timestamp = request.headers['X-Slack-Request-Timestamp'] as string;
    const signature = request.headers['X-Slack-Signature'] as string;
    expect(timestamp).toBe(String(Math.floor(now.getTime() / 1000)));
    expect(independentlyValid(request.body, timestamp, signature)).toBe(true);
    expect(
      isValidSlackRequest({
        signingSecret: SECRET,
        body: request.body,
        headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': Number(timestamp) },
        nowMilliseconds: now.getTime(),
      }),
    ).toBe(true);
    expect(signSlackRequest(request.body, SECRET, timestamp)).toBe(signature);
  });

  it('a forged signature, another secret or a changed body does not verify', () => {
    const forged = buildBlockActionsRequest(options({ signature: `v0=${'0'.repeat(64)}` }));
    const timestamp = forged.headers['X-Slack-Request-Timestamp'] as string;
    expect(independentlyValid(forged.body, timestamp, forged.headers['X-Slack-Signature'] as string)).toBe(
      false,
    );

    const otherSecret = buildBlockActionsRequest(options({ signingSecret: 'not-the-secret' }));
    expect(
      independentlyValid(otherSecret.body, timestamp, otherSecret.headers['X-Slack-Signature'] as string),
    ).toBe(false);

    const honest = buildBlockActionsRequest(options());
    const tampered = honest.body.replace('revoke', 'keep');
    expect(tampered).not.toBe(honest.body);
    expect(independentlyValid(tampered, timestamp, honest.headers['X-Slack-Signature'] as string)).toBe(
      false,
    );
  });

  it('a stale but correctly signed request is refused by Bolt', () => {
    const stale = buildBlockActionsRequest(options({ now: new Date(now.getTime() - 6 * 60_000) }));
    const timestamp = stale.headers['X-Slack-Request-Timestamp'] as string;
    expect(independentlyValid(stale.body, timestamp, stale.headers['X-Slack-Signature'] as string)).toBe(
      true,
    );
    expect(
      isValidSlackRequest({
        signingSecret: SECRET,
        body: stale.body,
        headers: {
          'x-slack-signature': stale.headers['X-Slack-Signature'] as string,
          'x-slack-request-timestamp': Number(timestamp),
        },
        nowMilliseconds: now.getTime(),
      }),
    ).toBe(false);
  });

  it('sends the payload Slack sends: form-encoded, with the button found in the message', () => {
    const request = buildBlockActionsRequest(options());
    expect(request.headers['Content-Type']).toBe('application/x-www-form-urlencoded');
    const payload = JSON.parse(new URLSearchParams(request.body).get('payload') as string);
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0ALICE01', username: 'alice' },
      team: { id: 'T0SANDBOX1' },
      container: {
        type: 'message',
        message_ts: '1764583200.000100',
        channel_id: 'D0123456789',
        is_ephemeral: false,
      },
      channel: { id: 'D0123456789', name: 'directmessage' },
      message: { type: 'message', ts: '1764583200.000100', text: built.text },
      actions: [
        {
          type: 'button',
          action_id: `review_revoke:${grant.grantId}`,
          block_id: `decide:${grant.grantId}`,
          value,
          text: { type: 'plain_text', text: 'Revoke' },
          style: 'danger',
        },
      ],
    });
    expect(payload.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);
    expect(payload.actions[0].action_ts).toBe(`${Math.floor(now.getTime() / 1000)}.250000`);
    expect(typeof payload.token).toBe('string');
    expect(payload.response_url).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });

  it('refuses to click a button the message does not show', () => {
    expect(() => buildBlockActionsRequest(options({ actionId: 'review_keep:g_0' }))).toThrow(
      ButtonNotFoundError,
    );
    expect(() => buildBlockActionsRequest(options({ value: '{"c":"other","g":"x"}' }))).toThrow(
      NotFoundError,
    );
    const withoutIds = built.blocks.map(({ block_id: _dropped, ...block }) => block);
    expect(() =>
      buildBlockActionsRequest(options({ message: { ts: '1.000100', blocks: withoutIds } })),
    ).toThrow(/no block_id/);
  });
});

describe('signed overflow menu choices', () => {
  const left = JSON.stringify({ c: '2026-Q4', g: grant.grantId, r: 'revoke:left' });

  function choice(overrides: Partial<ChooseOverflowOptionOptions> = {}): ChooseOverflowOptionOptions {
    const { value: _value, ...rest } = options();
    return { ...rest, actionId: `review_reason:${grant.grantId}`, optionValue: left, ...overrides };
  }

  it('sends the payload Slack sends for an overflow, signed over the exact body', () => {
    const request = buildOverflowActionRequest(choice());
    const timestamp = request.headers['X-Slack-Request-Timestamp'] as string;
    const signature = request.headers['X-Slack-Signature'] as string;
    expect(independentlyValid(request.body, timestamp, signature)).toBe(true);
    expect(
      isValidSlackRequest({
        signingSecret: SECRET,
        body: request.body,
        headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': Number(timestamp) },
        nowMilliseconds: now.getTime(),
      }),
    ).toBe(true);
    const payload = JSON.parse(new URLSearchParams(request.body).get('payload') as string);
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0ALICE01' },
      container: { type: 'message', message_ts: '1764583200.000100', channel_id: 'D0123456789' },
      message: { ts: '1764583200.000100', text: built.text },
    });
    expect(payload.actions).toEqual([
      {
        type: 'overflow',
        action_id: `review_reason:${grant.grantId}`,
        block_id: `decide:${grant.grantId}`,
        selected_option: {
          text: { type: 'plain_text', text: REASONS['revoke:left'], emoji: true },
          value: left,
        },
        action_ts: `${Math.floor(now.getTime() / 1000)}.250000`,
      },
    ]);
    expect(parseReasonValue(payload.actions[0].selected_option.value).reason).toBe('revoke:left');
    expect(payload.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);

    const forged = buildOverflowActionRequest(choice({ signature: `v0=${'0'.repeat(64)}` }));
    expect(independentlyValid(forged.body, timestamp, forged.headers['X-Slack-Signature'] as string)).toBe(
      false,
    );
  });

  it('refuses a menu or an option the message does not show', () => {
    expect(() => buildOverflowActionRequest(choice({ actionId: 'review_reason:g_0' }))).toThrow(
      OverflowOptionNotFoundError,
    );
    // A button's action_id is not a menu, and a menu is not a button.
    expect(() => buildOverflowActionRequest(choice({ actionId: `review_revoke:${grant.grantId}` }))).toThrow(
      OverflowOptionNotFoundError,
    );
    expect(() =>
      buildBlockActionsRequest(options({ actionId: `review_reason:${grant.grantId}`, value: left })),
    ).toThrow(ButtonNotFoundError);
    const forgedCode = JSON.stringify({ c: '2026-Q4', g: grant.grantId, r: 'revoke:bored' });
    expect(() => buildOverflowActionRequest(choice({ optionValue: forgedCode }))).toThrow(
      /shows no option with value/,
    );
    const withoutIds = built.blocks.map(({ block_id: _dropped, ...block }) => block);
    expect(() =>
      buildOverflowActionRequest(choice({ message: { ts: '1.000100', blocks: withoutIds } })),
    ).toThrow(OverflowOptionNotFoundError);
  });
});
