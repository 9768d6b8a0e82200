import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkSlackRequest,
  MalformedSlackRequestError,
  readFunctionUrlEvent,
  routeOf,
  UnsignedSlackRequestError,
  viewRouteOf,
} from '../../../functions/slack/request-check';

const SECRET = 'unit-signing-secret';
const NOW = new Date('2026-11-25T21:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const G = `g_${'a'.repeat(32)}`;

const COMMAND = {
  token: 'legacy',
  team_id: 'T0TEAM001',
  team_domain: 'acme',
  channel_id: 'D0DM00001',
  user_id: 'U0SEC0001',
  user_name: 'sam',
  command: '/access-review',
  text: 'status',
  api_app_id: 'A0APP0001',
  response_url: 'https://hooks.slack.com/commands/T0TEAM001/1/abc',
  trigger_id: '1.2.abc',
};

function signed(body: string, contentType: string, secret = SECRET) {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${NOW_S}:${body}`).digest('hex')}`;
  return readFunctionUrlEvent({
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(NOW_S),
      'x-slack-signature': signature,
    },
    body,
    isBase64Encoded: false,
  });
}
const form = (fields: Record<string, string>) =>
  signed(new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded');
const json = (value: unknown) => signed(JSON.stringify(value), 'application/json');
const check = (request: ReturnType<typeof signed>) => checkSlackRequest(request, SECRET, NOW);

function refusal(run: () => unknown): { name: string; status: number; reason: string } {
  try {
    run();
  } catch (error) {
    const { name, status, reason } = error as { name: string; status: number; reason: string };
    return { name, status, reason };
  }
  throw new Error('expected a refusal');
}

describe('slash commands', () => {
  it('routes a signed /access-review to the command listener with its form as Slack sent it', () => {
    const checked = check(form(COMMAND));
    expect(checked).toMatchObject({ route: 'command', kind: 'command', actionId: '/access-review' });
    expect(checked.contentType).toBe('application/x-www-form-urlencoded');
    expect(checked.payload).toMatchObject({ user_id: 'U0SEC0001', text: 'status' });
  });

  it('accepts empty text (the bare command: usage)', () => {
    expect(check(form({ ...COMMAND, text: '' })).route).toBe('command');
  });

  it('refuses, with 400 and the field named, a signed command missing user_id, team_id, response_url, trigger_id or text', () => {
    for (const field of ['user_id', 'team_id', 'response_url', 'trigger_id', 'text'] as const) {
      const { [field]: _left, ...rest } = COMMAND;
      const answer = refusal(() => check(form(rest)));
      expect(answer, field).toMatchObject({ name: 'MalformedSlackRequestError', status: 400 });
      expect(answer.reason, field).toContain(field === 'text' ? 'text' : field);
    }
  });

  it('refuses another command, a repeated field and a prototype key', () => {
    expect(refusal(() => check(form({ ...COMMAND, command: '/other' }))).reason).toBe(
      'command "/other" is not /access-review',
    );
    const repeated = `${new URLSearchParams(COMMAND).toString()}&user_id=U0MAL0001`;
    expect(refusal(() => check(signed(repeated, 'application/x-www-form-urlencoded'))).reason).toContain(
      'repeats "user_id"',
    );
    const proto = `${new URLSearchParams(COMMAND).toString()}&__proto__=x`;
    expect(refusal(() => check(signed(proto, 'application/x-www-form-urlencoded'))).status).toBe(400);
  });

  it('checks the signature before the form: a forged command is 401 whatever it says', () => {
    const body = new URLSearchParams(COMMAND).toString();
    const forged = refusal(() =>
      checkSlackRequest(signed(body, 'application/x-www-form-urlencoded', 'wrong'), SECRET, NOW),
    );
    expect(forged).toMatchObject({ name: 'UnsignedSlackRequestError', status: 401 });
    expect(() =>
      checkSlackRequest(signed('command=%ZZ', 'application/x-www-form-urlencoded', 'x'), SECRET, NOW),
    ).toThrow(UnsignedSlackRequestError);
  });
});

describe('view submissions', () => {
  const view = (callbackId: string, extra: Record<string, unknown> = {}) => ({
    type: 'view_submission',
    team: { id: 'T0TEAM001' },
    user: { id: 'U0ALICE01' },
    view: {
      id: 'V0VIEW001',
      callback_id: callbackId,
      private_metadata: '{}',
      state: { values: {} },
      ...extra,
    },
  });
  const submit = (payload: unknown) => form({ payload: JSON.stringify(payload) });

  it('routes the review modals to the review listeners, others are acked, unknown review_ ones refused', () => {
    expect(check(submit(view('review_justification')))).toMatchObject({
      route: 'review',
      kind: 'view_submission',
    });
    expect(check(submit(view('review_delegation'))).route).toBe('review');
    expect(check(submit(view('someone_elses_modal'))).route).toBe('unhandled');
    expect(refusal(() => check(submit(view('review_other')))).status).toBe(400);
    expect(() => viewRouteOf('review_x')).toThrow(MalformedSlackRequestError);
  });

  it('refuses a submission without user.id, view, view.id or callback_id, or with odd metadata or state', () => {
    const { user: _u, ...noUser } = view('review_justification');
    expect(refusal(() => check(submit(noUser))).reason).toBe('the view_submission has no user.id');
    expect(refusal(() => check(submit({ ...view('x'), view: 'v' }))).reason).toBe(
      'the view_submission has no view',
    );
    expect(refusal(() => check(submit(view('review_justification', { id: '' })))).reason).toBe(
      'the view has no id',
    );
    expect(refusal(() => check(submit(view('')))).reason).toBe('the view has no callback_id');
    expect(refusal(() => check(submit(view('review_justification', { private_metadata: 5 })))).status).toBe(
      400,
    );
    expect(refusal(() => check(submit(view('review_justification', { state: [] })))).status).toBe(400);
  });
});

describe('Events API', () => {
  const home = (event: Record<string, unknown>) => ({
    type: 'event_callback',
    team_id: 'T0TEAM001',
    api_app_id: 'A0APP0001',
    event: { type: 'app_home_opened', user: 'U0ALICE01', channel: 'D0DM00001', tab: 'home', ...event },
  });

  it('routes app_home_opened to the home listener as JSON; acks other events and envelopes', () => {
    expect(check(json(home({})))).toMatchObject({
      route: 'home',
      kind: 'event',
      contentType: 'application/json',
    });
    expect(check(json(home({ type: 'message' }))).route).toBe('unhandled');
    expect(check(json({ type: 'app_rate_limited', minute_rate_limited: 1 })).route).toBe('unhandled');
  });

  it('answers url_verification only with a challenge', () => {
    expect(check(json({ type: 'url_verification', token: 't', challenge: 'c-123' })).route).toBe(
      'url_verification',
    );
    expect(refusal(() => check(json({ type: 'url_verification' }))).reason).toBe(
      'the url_verification body has no challenge',
    );
  });

  it('refuses an event without team_id, an event without a type or user, and bodies that are not objects or JSON', () => {
    const { team_id: _t, ...noTeam } = home({});
    expect(refusal(() => check(json(noTeam))).reason).toBe('the event_callback has no team_id');
    expect(refusal(() => check(json({ ...home({}), event: { user: 'U1' } }))).status).toBe(400);
    expect(refusal(() => check(json(home({ user: undefined })))).reason).toBe(
      'the app_home_opened event has no user',
    );
    expect(refusal(() => check(json([1, 2]))).reason).toBe('the body is not an object');
    expect(refusal(() => check(signed('{', 'application/json'))).reason).toBe('the body is not JSON');
    expect(
      refusal(() => check(signed('{"__proto__":{"x":1},"type":"event_callback"}', 'application/json')))
        .status,
    ).toBe(400);
  });
});

describe('review actions of design §5', () => {
  it('routes every review element, and refuses review_ ids that are none of them', () => {
    for (const id of [
      `review_keep:${G}`,
      `review_revoke:${G}`,
      `review_justify:${G}`,
      `review_downgrade:${G}`,
      `review_delegate:${G}`,
      'review_keep_all:2026-Q4-1a2b3c4d',
      'review_delegate_all:2026-Q4-1a2b3c4d',
      `review_reason:${G}`,
    ]) {
      expect(routeOf(id), id).toBe('review');
    }
    expect(() => routeOf('review_justify:not-a-grant')).toThrow(MalformedSlackRequestError);
    expect(() => routeOf('review_everything:x')).toThrow(MalformedSlackRequestError);
  });
});
