import { randomBytes } from 'node:crypto';
import { AccessReviewError } from '../../functions/core/errors';
import type { TaskCompleter } from '../../functions/runtime/services';

/** What SendTaskSuccess answers for a token Step Functions does not know. */
export class TaskDoesNotExist extends AccessReviewError {}

/** What they answer once the task's TimeoutSeconds has passed: the token is dead. */
export class TaskTimedOut extends AccessReviewError {}

interface Waiter {
  promise: Promise<Record<string, unknown>>;
  resolve(value: Record<string, unknown>): void;
  reject(error: Error): void;
  settled: boolean;
  expired: boolean;
  expiry?: NodeJS.Timeout;
}

/**
 * The embedded host's stand-in for Step Functions task tokens. The state machine runner asks for
 * `$$.Task.Token` (issue), the RequestReview binding waits on it, and the Slack listener's
 * SendTaskSuccess equivalent (succeed) resumes it. Like the real service, a token works once.
 */
export class LocalTaskTokens implements TaskCompleter {
  private readonly waiters = new Map<string, Waiter>();

  issue(): string {
    const token = `local-task-${randomBytes(24).toString('base64url')}`;
    let resolve!: Waiter['resolve'];
    let reject!: Waiter['reject'];
    const promise = new Promise<Record<string, unknown>>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A token nobody waits on (the window closed first) must not surface as an unhandled rejection.
    promise.catch(() => undefined);
    this.waiters.set(token, { promise, resolve, reject, settled: false, expired: false });
    return token;
  }

  /**
   * The task's result. After `expiresAfterMs` (the state's timeout, as the runner applies it) the
   * token is dead, as on AWS: a late SendTaskSuccess fails with TaskTimedOut.
   *
   * aws-local-stepfunctions reads `$$.Task.Token` once per (child) execution, so a state entered
   * again in the same execution (AwaitReview after each checkpoint) gets the token it had before,
   * where AWS would issue a new one. A wait on a token that timed out and was never resumed
   * therefore starts a new task with it: the token lives again until its new expiry, as the new
   * token would on AWS. (A SendTaskSuccess between the timeout and the new wait still fails.)
   */
  wait(token: string, expiresAfterMs?: number): Promise<Record<string, unknown>> {
    const waiter = this.waiters.get(token);
    if (!waiter) return Promise.reject(new TaskDoesNotExist('task token was never issued'));
    if (waiter.settled) return Promise.reject(new TaskDoesNotExist('task token was already used'));
    clearTimeout(waiter.expiry);
    waiter.expired = false;
    if (expiresAfterMs !== undefined) {
      waiter.expiry = setTimeout(() => {
        waiter.expired = true;
      }, expiresAfterMs).unref();
    }
    return waiter.promise;
  }

  async succeed(token: string, output: Record<string, unknown>): Promise<void> {
    this.settle(token).resolve(output);
  }

  /** Ends every pending wait, so a stopped host leaves nothing hanging. */
  abandonAll(): void {
    for (const [token, waiter] of this.waiters) {
      if (!waiter.settled)
        waiter.reject(new TaskDoesNotExist(`host stopped before task ${token.slice(0, 16)}… finished`));
    }
    this.waiters.clear();
  }

  private settle(token: string): Waiter {
    const waiter = this.waiters.get(token);
    if (!waiter || waiter.settled) throw new TaskDoesNotExist('task token is unknown or already used');
    if (waiter.expired) throw new TaskTimedOut('the task timed out before it was completed');
    waiter.settled = true;
    return waiter;
  }
}
