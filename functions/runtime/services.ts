import type { WebClient } from '@slack/web-api';
import type { ConnectorRegistry } from '../connectors/connector';
import type { AccessReviewConfig } from '../core/config';
import type { EmailSender } from '../email/types';
import type { EvidenceArchive } from '../evidence/archive/archive';
import type { ChainSigner } from '../evidence/signing/signer';
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
  /**
   * SHA-256 of the configuration as JSON (functions/runtime/config-file.ts): on Lambda, of the file
   * in the function's code; on the embedded host, of the same JSON. StartCampaign records it.
   */
  configSha256?: string;
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
  /**
   * Signs the chain head after each workflow step (functions/evidence/signing/): the stack's KMS key
   * on Lambda, the data directory's key on the embedded host. Absent where nothing may sign (the
   * Slack endpoint, the failure notifier) and in tests that call steps directly.
   */
  signer?: ChainSigner;
  /** Where Finalize archives the evidence pack (S3 Object Lock on AWS, a folder locally). */
  archive?: EvidenceArchive;
  /**
   * Starts a campaign (the Slack command's `start`): StartExecution on AWS, a background run on the
   * embedded host. Absent where nothing may start one.
   */
  startCampaign?(input: CampaignStartRequest): Promise<{ executionName: string }>;
  /** Email through SES (config notifications.email); absent when none is configured. */
  email?: EmailSender;
  /**
   * Seconds that stand for one hour of the review calendar (reminders, escalation): 3600 on AWS;
   * the embedded host shrinks it so a week of reminders happens in seconds. Absent: 3600.
   */
  reviewHourSeconds?: number;
}

/** What starts an ad-hoc campaign: who asked, over what (scope terms, functions/core/scope.ts), and why. */
export interface CampaignStartRequest {
  trigger: string;
  requestedBy: string;
  scope?: string[];
  reason?: string;
}
