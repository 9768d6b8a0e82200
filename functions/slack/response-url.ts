import { AccessReviewError } from '../core/errors';
import { MIN_ATTEMPT_MS, RESPONSE_URL_ATTEMPT_TIMEOUT_MS } from './click-budget';

/**
 * A POST to an interaction's response_url (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses):
 * `replace_original` redraws the message the click came from, `response_type: 'ephemeral'` answers
 * only the clicker. It is not a Web API method: no token, and not subject to the Web API's rate
 * limits, which is why a click redraws through it (a rate-limited chat.update would make the
 * click wait for Retry-After).
 */
export type ResponseUrlBody =
  | { replace_original: true; text: string; blocks: unknown[] }
  | { response_type: 'ephemeral'; replace_original: false; text: string };

const RETRY_PAUSE_MS = 50;

/** Slack did not take the response before the deadline (every attempt failed or timed out). */
export class ResponseUrlError extends AccessReviewError {}

/**
 * Posts `body` to `url`, trying again after a failure while `deadline` (a performance.now() time)
 * leaves room; each attempt is cut at RESPONSE_URL_ATTEMPT_TIMEOUT_MS or the deadline. The first
 * attempt is made even past the deadline (one attempt of at most RESPONSE_URL_ATTEMPT_TIMEOUT_MS):
 * when recording took that long the answer is late already, and the message should still move on. Returns the
 * number of attempts it took; throws ResponseUrlError, with the last failure as its cause.
 */
export async function postToResponseUrl(
  url: string,
  body: ResponseUrlBody,
  deadline: number,
): Promise<number> {
  let lastError: unknown = new ResponseUrlError('no time was left for a first attempt');
  for (let attempt = 1; ; attempt++) {
    // The first attempt always goes out (a click recorded late still gets its redraw tried once);
    // later ones only while the deadline leaves room.
    const left =
      attempt === 1
        ? Math.max(deadline - performance.now(), RESPONSE_URL_ATTEMPT_TIMEOUT_MS)
        : deadline - performance.now();
    if (left < MIN_ATTEMPT_MS) {
      throw new ResponseUrlError(`response_url not answered in time after ${attempt - 1} attempts`, {
        cause: lastError,
      });
    }
    let status: number;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(Math.floor(Math.min(RESPONSE_URL_ATTEMPT_TIMEOUT_MS, left))),
      });
      // Read the body either way, so the connection is free for the next request.
      const text = await response.text();
      if (response.ok) return attempt;
      status = response.status;
      lastError = new ResponseUrlError(`response_url answered ${status}: ${text.slice(0, 100)}`);
    } catch (error) {
      // A timeout or a network fault: worth another attempt.
      lastError = error;
      status = 0;
    }
    // A 4xx other than a rate limit will not change by asking again.
    if (status >= 400 && status < 500 && status !== 429) throw lastError;
    // A short pause before trying again (a refused connection fails at once).
    await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_PAUSE_MS * attempt, 200)));
  }
}
