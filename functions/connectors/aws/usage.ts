import type { MiddlewareStack } from '@smithy/types';
import type { SourceUsage } from '../connector';

/** The AWS services the connector calls; usage is counted per service. */
export type AwsService = 'sts' | 'iam' | 'secretsmanager' | 'kms';

/**
 * Counts every HTTP request the connector's AWS clients send, per service, retries included.
 * AWS publishes no rate-limit points in its answers (unlike GitHub), so `points` stays empty.
 */
export class UsageCounter {
  private readonly requests: Record<string, number> = {};

  /**
   * Counts each attempt of every call `client` makes. The middleware sits in the deserialize step,
   * inside the SDK's retry loop (finalizeRequest), so a retried call counts once per attempt.
   */
  attach<Input extends object, Output extends object>(
    client: { middlewareStack: MiddlewareStack<Input, Output> },
    service: AwsService,
  ): void {
    client.middlewareStack.add(
      (next) => async (args) => {
        this.requests[service] = (this.requests[service] ?? 0) + 1;
        return next(args);
      },
      { step: 'deserialize', name: `accessReviewUsage_${service}` },
    );
  }

  usage(): SourceUsage {
    return { requests: { ...this.requests }, points: {} };
  }
}
