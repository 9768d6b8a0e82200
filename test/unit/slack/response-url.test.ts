import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESPONSE_URL_ATTEMPT_TIMEOUT_MS } from '../../../functions/slack/click-budget';
import { postToResponseUrl, ResponseUrlError } from '../../../functions/slack/response-url';

/** A response_url that answers each POST with the next status in `answers` (or never, for 0). */
let server: Server;
let url: string;
let answers: number[] = [];
let received = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    received += 1;
    const status = answers.shift() ?? 200;
    if (status === 0) return; // never answers
    response
      .writeHead(status, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ ok: status === 200 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/actions/x`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const body = { response_type: 'ephemeral', replace_original: false, text: 'hi' } as const;

describe('posting to a response_url within a deadline', () => {
  it('tries again after a 5xx or a 429, and stops at the first success', async () => {
    answers = [500, 429, 200];
    received = 0;
    expect(await postToResponseUrl(url, body, performance.now() + 2_000)).toBe(3);
    expect(received).toBe(3);
  });

  it('gives up at once on a 4xx that asking again cannot change', async () => {
    answers = [404];
    received = 0;
    await expect(postToResponseUrl(url, body, performance.now() + 2_000)).rejects.toThrow(/answered 404/);
    expect(received).toBe(1);
  });

  it('tries once, cut at the attempt timeout, past a deadline, and not again', async () => {
    answers = [0, 0, 0, 0, 0, 0];
    received = 0;
    const started = performance.now();
    const failure = await postToResponseUrl(url, body, started + 200).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ResponseUrlError);
    expect(received).toBe(1);
    expect(performance.now() - started).toBeLessThan(RESPONSE_URL_ATTEMPT_TIMEOUT_MS + 300);
    // A deadline already passed still gets its one attempt.
    answers = [200];
    expect(await postToResponseUrl(url, body, performance.now() - 1_000)).toBe(1);
  });
});
