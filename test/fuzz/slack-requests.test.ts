import { createHmac } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FunctionUrlResult } from '../../functions/handlers/slack-events';
import type { LocalDynamo } from '../../lib/local/dynamo';
import { serveSlackEndpoint } from '../../lib/local/host';
import { buildBlockActionsRequest } from '../../sandbox/slack/interactions';
import type { SlackSandbox } from '../../sandbox/slack/server';
import { BOB, type SlackLambdaFixture, startSlackLambdaFixture } from '../support/slack-lambda';
import { fuzzParameters } from './fuzz-parameters';

/**
 * Property tests of the Slack endpoint, on both hosts: the slack-events Lambda handler fed
 * Function URL events, and the embedded host's HTTP server (serveSlackEndpoint) in front of the
 * same handler. Every input, signed or not, well-formed or not, gets a 4xx or a 200 (an ack),
 * never an exception or a 5xx; the table is byte-identical after each one (no click here is by the
 * assigned reviewer, so even an accepted one writes nothing); the logs never carry the secrets.
 */

const SIGNING_SECRET = 'fuzz-signing-secret-0123456789';
const BOT_TOKEN = 'xoxb-fuzz-bot-token-0123456789';
const CAMPAIGN = '2026-Q4-fuzz01';
const TABLE = 'fuzz-slack';

let fixture: SlackLambdaFixture;
let dynamo: LocalDynamo;
let slack: SlackSandbox;
let grantIds: string[];
let handler: (event: unknown, context?: unknown) => Promise<FunctionUrlResult>;
let host: { url: string; close(): Promise<void> };
let basePayload: Record<string, unknown>;
const logged: string[] = [];

async function dumpTable(): Promise<string> {
  const { Items = [] } = await dynamo.table.client.send(new ScanCommand({ TableName: TABLE }));
  return JSON.stringify(Items.map((item) => JSON.stringify(item)).sort());
}

beforeAll(async () => {
  for (const level of ['log', 'warn', 'error', 'info'] as const) {
    vi.spyOn(console, level).mockImplementation((...parts: unknown[]) => {
      logged.push(parts.map(String).join(' '));
    });
  }
  fixture = await startSlackLambdaFixture({
    table: TABLE,
    campaignId: CAMPAIGN,
    signingSecret: SIGNING_SECRET,
    botToken: BOT_TOKEN,
    taskToken: 'sfn-task-token-fuzz',
  });
  ({ dynamo, slack, grantIds } = fixture);
  const { channel, messageTs } = fixture;
  const grantId = grantIds[0] as string;
  // A real click, by someone who is not the reviewer: accepted requests are refused by the
  // listener, so nothing in this file may write.
  basePayload = buildBlockActionsRequest({
    appUrl: 'unused',
    signingSecret: SIGNING_SECRET,
    user: BOB,
    teamId: slack.teamId,
    channelId: channel,
    message: slack.message(channel, messageTs) ?? { ts: messageTs, blocks: [] },
    actionId: `review_keep:${grantId}`,
    value: JSON.stringify({ c: CAMPAIGN, g: grantId }),
    responseUrl: slack.responseUrlFor({ channel, messageTs, user: BOB.id }),
  }).payload as unknown as Record<string, unknown>;

  ({ handler } = (await import('../../functions/handlers/slack-events')) as unknown as {
    handler: typeof handler;
  });
  host = await serveSlackEndpoint((event) => handler(event, {}), {
    info: () => undefined,
    warn: () => undefined,
    error: (message) => logged.push(`host error: ${message}`),
  });
});

afterAll(async () => {
  vi.restoreAllMocks();
  await host?.close();
  await fixture?.close();
});

// ---- generators -------------------------------------------------------------------------------

const PATHS = [
  'type',
  'user',
  'user.id',
  'actions',
  'actions.0',
  'actions.0.action_id',
  'actions.0.type',
  'actions.0.value',
  'container',
  'container.type',
  'response_url',
  'team',
  'channel',
  'message',
  'message.blocks',
  'token',
  'trigger_id',
] as const;

type Mutation =
  | { kind: 'omit'; path: string }
  | { kind: 'set'; path: string; value: unknown }
  | { kind: 'prototype'; path: string; key: '__proto__' | 'constructor'; value: unknown }
  | { kind: 'actionId'; value: string }
  | { kind: 'user'; value: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('omit' as const), path: fc.constantFrom(...PATHS) }),
  fc.record({
    kind: fc.constant('set' as const),
    path: fc.constantFrom(...PATHS),
    value: fc.jsonValue({ maxDepth: 2 }),
  }),
  fc.record({
    kind: fc.constant('prototype' as const),
    path: fc.constantFrom('', 'user', 'actions.0', 'container', 'message', 'message.blocks.0', 'state'),
    key: fc.constantFrom('__proto__' as const, 'constructor' as const),
    value: fc.jsonValue({ maxDepth: 1 }),
  }),
  fc.record({
    kind: fc.constant('actionId' as const),
    value: fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        'guard_approve',
        'guard_reject',
        'guard_approve:batch1',
        'guard_',
        'review_maybe:g_1',
        'review_keep:g_nope',
        'review_reason:x',
      ),
      fc.string({ maxLength: 20 }).map((tail) => `review_keep:${tail}`),
      fc.string({ minLength: 1, maxLength: 20 }).map((tail) => `other_${tail}`),
    ),
  }),
  // Never alice: a click by the assigned reviewer would (rightly) write.
  fc.record({
    kind: fc.constant('user' as const),
    value: fc.constantFrom(BOB.id, 'U0MALLORY', 'W0ENTERPRIS'),
  }),
);

function at(root: unknown, path: string): { parent: Record<string, unknown>; key: string } | undefined {
  const parts = path.split('.');
  let node: unknown = root;
  for (const part of parts.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  if (node === null || typeof node !== 'object') return undefined;
  return { parent: node as Record<string, unknown>, key: parts.at(-1) as string };
}

/** Applies mutations to a copy; JSON.stringify writes an own `__proto__` property like any other. */
function mutate(mutations: Mutation[]): {
  text: string;
  prototypeKey: boolean;
  onlyActionId: boolean;
  actionId: unknown;
} {
  const payload = structuredClone(basePayload) as Record<string, unknown>;
  let prototypeKey = false;
  for (const change of mutations) {
    if (change.kind === 'actionId') {
      const actions = payload.actions;
      if (Array.isArray(actions) && actions[0] && typeof actions[0] === 'object')
        (actions[0] as Record<string, unknown>).action_id = change.value;
      continue;
    }
    if (change.kind === 'user') {
      if (payload.user && typeof payload.user === 'object')
        (payload.user as Record<string, unknown>).id = change.value;
      continue;
    }
    if (change.kind === 'prototype') {
      const target = change.path === '' ? payload : at(payload, `${change.path}.x`)?.parent;
      if (!target || typeof target !== 'object') continue;
      const value = change.key === 'constructor' ? { prototype: change.value } : change.value;
      Object.defineProperty(target, change.key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      prototypeKey = true;
      continue;
    }
    const place = at(payload, change.path);
    if (!place) continue;
    if (change.kind === 'omit') delete place.parent[place.key];
    else place.parent[place.key] = change.value;
  }
  // A later omit or set may have dropped the object that held the prototype key.
  prototypeKey &&= /"(__proto__|constructor)":/.test(JSON.stringify(payload));
  return {
    text: JSON.stringify(payload),
    prototypeKey,
    onlyActionId: mutations.length > 0 && mutations.every((change) => change.kind === 'actionId'),
    actionId: (payload.actions as Array<{ action_id?: unknown }> | undefined)?.[0]?.action_id,
  };
}

type BodyKind =
  | { kind: 'payload'; mutations: Mutation[] }
  | { kind: 'form'; extra: string }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array };

const bodyKind: fc.Arbitrary<BodyKind> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('payload' as const),
      mutations: fc.array(mutation, { maxLength: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('form' as const),
      extra: fc.constantFrom('&payload=%7B%7D', '&x=1', '&', '&payload'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('text' as const),
      text: fc.string({ unit: 'binary', maxLength: 200 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 200 }) }),
  },
);

type Transform =
  | { kind: 'none' }
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'append'; bytes: Uint8Array };

const transform: fc.Arbitrary<Transform> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('flip' as const),
      at: fc.nat(),
      xor: fc.integer({ min: 1, max: 255 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
  },
);

type Signing = 'correct' | 'beforeTransform' | 'wrongSecret' | 'garbage' | 'none' | 'upperCase';
type Timestamp = { kind: 'offset'; seconds: number } | { kind: 'text'; text: string } | { kind: 'none' };

const requestArb = fc.record({
  body: bodyKind,
  transform,
  signing: fc.constantFrom<Signing>(
    'correct',
    'correct',
    'correct',
    'beforeTransform',
    'wrongSecret',
    'garbage',
    'none',
    'upperCase',
  ),
  timestamp: fc.oneof(
    { weight: 3, arbitrary: fc.constant<Timestamp>({ kind: 'offset', seconds: 0 }) },
    {
      weight: 2,
      arbitrary: fc
        .integer({ min: -3600, max: 3600 })
        .map((seconds): Timestamp => ({ kind: 'offset', seconds })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Timestamp>(
        { kind: 'text', text: 'abc' },
        { kind: 'text', text: '' },
        { kind: 'text', text: '-5' },
        { kind: 'text', text: '1e9' },
        { kind: 'text', text: '0' },
        { kind: 'none' },
      ),
    },
  ),
  contentType: fc.constantFrom<string | undefined>(
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=utf-8',
    'application/json',
    'text/plain',
    'multipart/form-data; boundary=x',
    undefined,
  ),
  upperCaseHeaders: fc.boolean(),
  base64: fc.boolean(),
});

type FuzzRequest = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

/** Signed, fresh and form-encoded: only the payload varies, so its checks and the listeners get most runs. */
const wellSignedArb: fc.Arbitrary<FuzzRequest> = fc.record({
  body: fc.record({ kind: fc.constant('payload' as const), mutations: fc.array(mutation, { maxLength: 3 }) }),
  transform: fc.constant({ kind: 'none' as const }),
  signing: fc.constant<Signing>('correct'),
  timestamp: fc.constant<Timestamp>({ kind: 'offset', seconds: 0 }),
  contentType: fc.constant<string | undefined>('application/x-www-form-urlencoded'),
  upperCaseHeaders: fc.boolean(),
  base64: fc.boolean(),
});

const anyRequestArb = fc.oneof(requestArb, wellSignedArb);

interface Built {
  headers: Record<string, string>;
  body: Buffer;
  base64: boolean;
  /** Signed with the secret over these exact bytes, with a timestamp inside the window. */
  verifies: boolean;
  nearEdge: boolean;
  prototypeKey: boolean;
  /** A well-formed click whose action id is neither review_ nor guard_: acked at once. */
  unknownAction: boolean;
  approvalAction: boolean;
  /** A well-formed click whose only change is its action id. */
  onlyActionId: boolean;
}

function sign(body: Buffer, timestamp: string, secret = SIGNING_SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
}

function build(request: FuzzRequest): Built {
  let body: Buffer;
  let prototypeKey = false;
  let onlyActionId = false;
  let actionId: unknown;
  switch (request.body.kind) {
    case 'payload': {
      const mutated = mutate(request.body.mutations);
      ({ prototypeKey, onlyActionId, actionId } = mutated);
      body = Buffer.from(new URLSearchParams({ payload: mutated.text }).toString());
      break;
    }
    case 'form':
      body = Buffer.from(
        `${new URLSearchParams({ payload: JSON.stringify(basePayload) })}${request.body.extra}`,
      );
      break;
    case 'text':
      body = Buffer.from(request.body.text, 'utf8');
      break;
    case 'bytes':
      body = Buffer.from(request.body.bytes);
      break;
  }
  const now = Math.floor(Date.now() / 1000);
  const timestamp =
    request.timestamp.kind === 'offset'
      ? String(now + request.timestamp.seconds)
      : request.timestamp.kind === 'text'
        ? request.timestamp.text
        : undefined;
  const unchanged = body;
  const t = request.transform;
  if (t.kind === 'truncate') body = body.subarray(0, t.at % (body.length + 1));
  if (t.kind === 'flip' && body.length > 0) {
    body = Buffer.from(body);
    const index = t.at % body.length;
    body[index] = (body[index] as number) ^ t.xor;
  }
  if (t.kind === 'append') body = Buffer.concat([body, Buffer.from(t.bytes)]);
  const changed = !body.equals(unchanged);
  prototypeKey &&= !changed;
  onlyActionId &&= !changed;

  let signature: string | undefined;
  if (timestamp !== undefined) {
    if (request.signing === 'correct') signature = sign(body, timestamp);
    if (request.signing === 'beforeTransform') signature = sign(unchanged, timestamp);
    if (request.signing === 'wrongSecret') signature = sign(body, timestamp, 'not-the-secret');
    if (request.signing === 'garbage') signature = `v0=${'0'.repeat(63)}x`;
    if (request.signing === 'upperCase') signature = sign(body, timestamp).toUpperCase();
  }
  const verifies =
    timestamp !== undefined &&
    /^[1-9][0-9]*$/.test(timestamp) &&
    Math.abs(Number(timestamp) - now) <= 300 &&
    signature === sign(body, timestamp);
  // A second may pass between building and checking: at the window's edge either answer is right.
  const nearEdge = timestamp !== undefined && Math.abs(Math.abs(Number(timestamp) - now) - 300) <= 2;
  const headers: Record<string, string> = {};
  const name = (text: string) => (request.upperCaseHeaders ? text.toUpperCase() : text);
  if (request.contentType !== undefined) headers[name('Content-Type')] = request.contentType;
  if (timestamp !== undefined) headers[name('X-Slack-Request-Timestamp')] = timestamp;
  if (signature !== undefined) headers[name('X-Slack-Signature')] = signature;
  const isForm = (request.contentType ?? '').startsWith('application/x-www-form-urlencoded');
  const id = typeof actionId === 'string' ? actionId : '';
  return {
    unknownAction:
      onlyActionId && isForm && id.length > 0 && id.length <= 255 && !/^(review_|guard_)/.test(id),
    approvalAction: id.startsWith('guard_'),
    headers,
    body,
    base64: request.base64,
    verifies,
    nearEdge,
    prototypeKey: prototypeKey && isForm,
    onlyActionId: onlyActionId && isForm,
  };
}

function functionUrlEvent(built: Built) {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: Object.fromEntries(Object.entries(built.headers).map(([k, v]) => [k.toLowerCase(), v])),
    requestContext: {
      http: { method: 'POST', path: '/', protocol: 'HTTP/1.1', sourceIp: '203.0.113.10', userAgent: 'fuzz' },
    },
    body: built.base64 ? built.body.toString('base64') : built.body.toString('utf8'),
    isBase64Encoded: built.base64,
  };
}

/** What every answer must satisfy, whichever host gave it. */
function expectAnswer(built: Built, status: number, elapsedMs: number): void {
  expect(status).toBeGreaterThanOrEqual(200);
  expect(status).toBeLessThan(500);
  expect([200, 400, 401]).toContain(status);
  if (!built.verifies && !built.nearEdge) expect(status).toBe(401);
  if (built.verifies && built.prototypeKey) expect(status).toBe(400);
  if (built.verifies && built.unknownAction) {
    expect(status).toBe(200);
    expect(elapsedMs).toBeLessThan(1500);
    unknownAcks++;
  }
}

let unknownAcks = 0;
const secretsLeaked = () =>
  logged.filter((line) => line.includes(SIGNING_SECRET) || line.includes(BOT_TOKEN));

describe('fuzzing the Slack endpoint', () => {
  it('the Lambda handler answers every Function URL request with a 4xx or an ack, writing nothing', async () => {
    const before = await dumpTable();
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(anyRequestArb, async (request) => {
        const built = build(request);
        // A text body that is not UTF-8 cannot travel unencoded; the Function URL base64s it.
        if (!built.base64 && !Buffer.from(built.body.toString('utf8')).equals(built.body))
          built.base64 = true;
        const started = performance.now();
        const answer = await handler(functionUrlEvent(built), {});
        expectAnswer(built, answer.statusCode, performance.now() - started);
        seen.add(answer.statusCode);
        expect(await dumpTable()).toBe(before);
      }),
      fuzzParameters(150),
    );
    // The generators reach refused answers every run. Whether a random run also draws an ack of a
    // well-formed unknown action is chance (a run once drew none), so that is printed, not
    // asserted; the deterministic ack tests are in test/integration/slack/lambda-endpoint.test.ts.
    if (!process.env.FUZZ_PATH) expect([...seen]).toEqual(expect.arrayContaining([400, 401]));
    console.info(`fuzz: answers ${[...seen].sort().join(', ')}; ${unknownAcks} unknown actions acked`);
    expect(secretsLeaked()).toEqual([]);
  });

  it('the Lambda handler answers any event at all (no headers, no body, not an object) with a 4xx', async () => {
    const before = await dumpTable();
    const event = fc.oneof(
      fc.anything(),
      fc.record({
        headers: fc.oneof(
          fc.constant(undefined),
          fc.constant(null),
          fc.array(fc.string()),
          fc.dictionary(fc.string(), fc.anything()),
        ),
        body: fc.anything(),
        isBase64Encoded: fc.anything(),
        requestContext: fc.anything(),
      }),
    );
    await fc.assert(
      fc.asyncProperty(event, async (input) => {
        const answer = await handler(input, {});
        expect(answer.statusCode).toBeGreaterThanOrEqual(400);
        expect(answer.statusCode).toBeLessThan(500);
      }),
      fuzzParameters(100),
    );
    expect(await dumpTable()).toBe(before);
    // No arguments at all, as a misconfigured trigger would call it.
    expect((await (handler as unknown as () => Promise<FunctionUrlResult>)()).statusCode).toBe(401);
  });

  it('the embedded host answers every HTTP request the same way, writing nothing', async () => {
    const before = await dumpTable();
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(anyRequestArb, async (request) => {
        const built = build(request);
        const started = performance.now();
        // A Uint8Array body: fetch adds no Content-Type of its own.
        const response = await fetch(host.url, {
          method: 'POST',
          headers: built.headers,
          body: new Uint8Array(built.body),
        });
        await response.text();
        expectAnswer(built, response.status, performance.now() - started);
        seen.add(response.status);
        expect(await dumpTable()).toBe(before);
      }),
      fuzzParameters(100),
    );
    // A replay (FUZZ_PATH) runs one input: coverage is asked of whole runs only.
    if (!process.env.FUZZ_PATH) expect([...seen].sort()).toEqual([200, 400, 401]);
    expect(secretsLeaked()).toEqual([]);
    expect(logged.filter((line) => line.startsWith('host error'))).toEqual([]);
  });
});
