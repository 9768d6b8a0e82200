import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkSlackRequest,
  MalformedSlackRequestError,
  readFunctionUrlEvent,
  routeOf,
  SlackTimestampError,
  UnsignedSlackRequestError,
} from '../../../functions/slack/request-check';

const SECRET = 'unit-signing-secret';
const NOW = new Date('2026-11-25T21:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);

const PAYLOAD = {
  type: 'block_actions',
  user: { id: 'U0BOB0001', name: 'bob' },
  container: { type: 'message', message_ts: '1.2', channel_id: 'D1' },
  response_url: 'https://hooks.slack.com/actions/T1/1/abc',
  actions: [{ type: 'button', action_id: `review_keep:g_${'0'.repeat(32)}`, value: '{}' }],
};

function request(options: {
  payload?: unknown;
  body?: string;
  timestamp?: number | string;
  secret?: string;
  contentType?: string;
  signature?: string;
}) {
  const body =
    options.body ?? new URLSearchParams({ payload: JSON.stringify(options.payload ?? PAYLOAD) }).toString();
  const timestamp = String(options.timestamp ?? NOW_S);
  const signature =
    options.signature ??
    `v0=${createHmac('sha256', options.secret ?? SECRET)
      .update(`v0:${timestamp}:${body}`)
      .digest('hex')}`;
  return readFunctionUrlEvent({
    headers: {
      'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': signature,
    },
    body,
    isBase64Encoded: false,
  });
}

function refusal(run: () => unknown): { name: string; status: number; reason: string } {
  try {
    run();
  } catch (error) {
    const { name, status, reason } = error as { name: string; status: number; reason: string };
    return { name, status, reason };
  }
  throw new Error('expected a refusal');
}

describe('the Slack request checks', () => {
  it('accepts a signed click and routes it to the review listeners', () => {
    expect(checkSlackRequest(request({}), SECRET, NOW).route).toBe('review');
  });

  it('refuses timestamps more than five minutes away, in the past and in the future', () => {
    for (const offset of [-301, 301, 30 * 60]) {
      const refused = refusal(() => checkSlackRequest(request({ timestamp: NOW_S + offset }), SECRET, NOW));
      expect(refused).toMatchObject({ name: SlackTimestampError.name, status: 401 });
    }
    expect(refusal(() => checkSlackRequest(request({ timestamp: NOW_S + 1800 }), SECRET, NOW)).reason).toBe(
      'the request timestamp is 1800 s in the future, over the 300 s window',
    );
    for (const offset of [-300, 0, 299, 300]) {
      expect(checkSlackRequest(request({ timestamp: NOW_S + offset }), SECRET, NOW).route).toBe('review');
    }
  });

  it('checks the signature before reading the body: an unparseable unsigned body is 401, not 400', () => {
    for (const body of ['payload=%7B', '{"not":"a form"}', '\u0000\uffff']) {
      expect(refusal(() => checkSlackRequest(request({ body, secret: 'wrong' }), SECRET, NOW))).toMatchObject(
        {
          name: UnsignedSlackRequestError.name,
          status: 401,
        },
      );
      // Signed, the same body is read and refused as malformed.
      expect(refusal(() => checkSlackRequest(request({ body }), SECRET, NOW)).status).toBe(400);
    }
  });

  it('refuses requests without headers, with a malformed signature or base64 that is not', () => {
    expect(refusal(() => checkSlackRequest(readFunctionUrlEvent(undefined), SECRET, NOW)).status).toBe(401);
    expect(refusal(() => checkSlackRequest(readFunctionUrlEvent({ body: 'x' }), SECRET, NOW)).status).toBe(
      401,
    );
    expect(refusal(() => checkSlackRequest(request({ signature: 'v1=abc' }), SECRET, NOW)).status).toBe(401);
    const event = {
      headers: { 'x-slack-request-timestamp': String(NOW_S), 'x-slack-signature': `v0=${'0'.repeat(64)}` },
      body: '!!',
      isBase64Encoded: true,
    };
    expect(refusal(() => checkSlackRequest(readFunctionUrlEvent(event), SECRET, NOW)).status).toBe(401);
  });

  it('refuses signed payloads missing user, user.id, actions, container or response_url', () => {
    const without = (change: (payload: Record<string, unknown>) => void) => {
      const payload = structuredClone(PAYLOAD) as Record<string, unknown>;
      change(payload);
      return refusal(() => checkSlackRequest(request({ payload }), SECRET, NOW));
    };
    expect(without((p) => delete p.user)).toMatchObject({ status: 400, reason: 'the payload has no user' });
    expect(without((p) => delete (p.user as Record<string, unknown>).id)).toMatchObject({
      status: 400,
      reason: 'the payload has no user.id',
    });
    expect(without((p) => delete p.actions).reason).toBe('the payload has no actions');
    expect(without((p) => (p.actions = [])).reason).toBe('the payload has no actions');
    expect(without((p) => delete p.container).reason).toBe('the payload has no container');
    expect(without((p) => delete p.response_url).reason).toBe('the payload has no response_url');
    expect(without((p) => (p.type = 'view_submission')).status).toBe(400);
  });

  it('refuses a signed payload carrying a prototype key, naming where', () => {
    const text = JSON.stringify(PAYLOAD).replace('"user":{', '"user":{"__proto__":{"admin":true},');
    const refused = refusal(() =>
      checkSlackRequest(request({ body: new URLSearchParams({ payload: text }).toString() }), SECRET, NOW),
    );
    expect(refused).toMatchObject({ name: MalformedSlackRequestError.name, status: 400 });
    expect(refused.reason).toContain('user.__proto__');
  });

  it('routes review and guard_ actions to Bolt; anything else is unhandled; review_ ids we never build are refused', () => {
    expect(routeOf(`review_reason:g_${'0'.repeat(32)}`)).toBe('review');
    expect(routeOf('guard_approve')).toBe('approval');
    expect(routeOf('guard_reject')).toBe('approval');
    expect(() => routeOf('guard_approve:batch-1')).toThrow(MalformedSlackRequestError);
    expect(routeOf('someone_elses_button')).toBe('unhandled');
    expect(() => routeOf('review_maybe:x')).toThrow(MalformedSlackRequestError);
  });
});

describe('Bolt alone (registerSlackListeners), without the request checks in front', () => {
  it('acknowledges an unknown action at once instead of answering 404 later', async () => {
    const { App, AwsLambdaReceiver } = await import('@slack/bolt');
    const { registerSlackListeners } = await import('../../../functions/slack/listeners');
    const { testServices } = await import('../../support/local-store');
    const receiver = new AwsLambdaReceiver({ signingSecret: SECRET });
    const app = new App({ authorize: async () => ({ botToken: 'xoxb-unit' }), receiver });
    registerSlackListeners(app, testServices({} as never));
    const bolt = await receiver.start();
    const payload = structuredClone(PAYLOAD);
    payload.actions[0]!.action_id = 'someone_elses_button';
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = `v0=${createHmac('sha256', SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    const started = performance.now();
    const answer = await bolt(
      {
        version: '2.0',
        routeKey: '$default',
        rawPath: '/',
        rawQueryString: '',
        requestContext: {},
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': timestamp,
          'x-slack-signature': signature,
        },
        body,
        isBase64Encoded: false,
      },
      {},
    );
    expect(answer.statusCode).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('fields Bolt dereferences', () => {
  it('refuses a signed payload whose channel is null (Bolt would throw reading channel.id: a 500, found by the fuzzer)', () => {
    const payload = { ...structuredClone(PAYLOAD), channel: null };
    expect(refusal(() => checkSlackRequest(request({ payload }), SECRET, NOW))).toMatchObject({
      status: 400,
      reason: 'the payload has a channel that is not an object',
    });
    expect(
      checkSlackRequest(request({ payload: { ...PAYLOAD, team: null, enterprise: null } }), SECRET, NOW)
        .route,
    ).toBe('review');
  });
});
