import type { WebClient } from '@slack/web-api';
import type { ConnectorRegistry } from '../connectors/connector';
import type { AccessReviewConfig } from '../core/config';
import type { Store } from '../store/index';

/** Resumes a workflow paused on a task token: SendTaskSuccess on AWS, a local promise on the embedded host. */
export interface TaskCompleter {
  succeed(taskToken: string, output: Record<string, unknown>): Promise<void>;
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Where a step reports what it is doing, so a person watching a run sees progress. */
export type ProgressListener = (message: string) => void;

/**
 * Everything a handler needs from the outside world. The AWS host builds it from environment
 * variables and Secrets Manager; the embedded host builds it from dynalite and the sandbox. The
 * handlers themselves cannot tell the difference.
 */
export interface Services {
  config: AccessReviewConfig;
  store: Store;
  /** The configured connectors (GitHub, and more as they are added). */
  connectors: ConnectorRegistry;
  slack(): Promise<WebClient>;
  tasks: TaskCompleter;
  now(): Date;
  log: Logger;
  progress: ProgressListener;
  /**
   * Milliseconds this invocation may still run (Lambda: the context's remaining time). Steps that
   * work in shards stop and checkpoint before it runs out; absent means no limit (tests, CLI).
   */
  timeLeftMs?: () => number;
}

/** JSON lines on stdout (CloudWatch), never with secret values: callers pass ids and counts. */
export const jsonLogger: Logger = {
  info: (message, fields) => console.log(JSON.stringify({ level: 'info', message, ...fields })),
  warn: (message, fields) => console.warn(JSON.stringify({ level: 'warn', message, ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ level: 'error', message, ...fields })),
};
