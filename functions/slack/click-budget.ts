import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Slack's budget for an interaction: "your app must respond … within 3000 ms"
 * (https://docs.slack.dev/interactivity/handling-user-interaction#acknowledgment_response), or the
 * clicker sees an error. On Lambda the answer leaves only when the listener returns (Bolt's
 * AwsLambdaReceiver awaits it, and nothing runs after a Lambda returns), so everything a click does
 * after recording its decision must end by a deadline inside that budget.
 */
export const SLACK_ACK_BUDGET_MS = 3_000;

/**
 * When the work after the decision (the message redraw, a reply to the clicker) must end,
 * measured from the request's arrival: the rest of the 3 s is for Bolt's answer and the network
 * between Slack and the function. Work that cannot finish by then is abandoned (the decision is
 * already recorded; the next click redraws the message).
 */
export const CLICK_FOLLOW_UP_DEADLINE_MS = 2_200;

/** Longest one response_url POST may take; a failed one is tried again if the deadline allows. */
export const RESPONSE_URL_ATTEMPT_TIMEOUT_MS = 1_000;

/** An attempt is not started with less than this left: it could not finish. */
export const MIN_ATTEMPT_MS = 150;

const arrivals = new AsyncLocalStorage<{ receivedAt: number }>();

/**
 * Runs the handling of one request, remembering when it arrived (performance.now()). Inside an
 * outer call (the Lambda handler, which saw the request before a cold start built the endpoint)
 * the outer arrival stands.
 */
export function withArrival<T>(receivedAt: number, run: () => Promise<T>): Promise<T> {
  return arrivals.getStore() ? run() : arrivals.run({ receivedAt }, run);
}

/**
 * The deadline (performance.now() time) for what a click does after its decision. Outside a
 * request (a listener called directly), the deadline counts from now.
 */
export function followUpDeadline(): number {
  const receivedAt = arrivals.getStore()?.receivedAt ?? performance.now();
  return receivedAt + CLICK_FOLLOW_UP_DEADLINE_MS;
}
