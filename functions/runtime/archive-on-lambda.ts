import { S3Client } from '@aws-sdk/client-s3';
import { awsClientConfig } from '../core/call-budget';
import { ConfigError } from '../core/errors';
import type { EvidenceArchive } from '../evidence/archive/archive';
import { s3Archive } from '../evidence/archive/s3';
import { type LambdaEnvironment, requiredEnv } from './aws';

/** Set by lib/aws/functions.ts on the archivesEvidence function (finalize). */
export const EVIDENCE_BUCKET_VARIABLE = 'ACCESS_REVIEW_EVIDENCE_BUCKET';
/** From config `evidence.retentionDays`, so the stack and the lock it asks for agree. */
export const EVIDENCE_RETENTION_DAYS_VARIABLE = 'ACCESS_REVIEW_EVIDENCE_RETENTION_DAYS';

/** The Object Lock evidence bucket, for the one handler whose catalogue entry says archivesEvidence. */
export function archiveOnLambda(environment: LambdaEnvironment): EvidenceArchive {
  const text = requiredEnv(EVIDENCE_RETENTION_DAYS_VARIABLE);
  const days = Number(text);
  if (!Number.isSafeInteger(days) || days < 1) {
    throw new ConfigError('Lambda environment is invalid', [
      `${EVIDENCE_RETENTION_DAYS_VARIABLE} must be a whole number of days, not ${JSON.stringify(text)}`,
    ]);
  }
  // An upload of a large grants.csv may be silent for longer than a table call may: 30 s per attempt.
  const budget = { ...environment.budgets.hub, requestTimeoutMs: 30_000 };
  return s3Archive(new S3Client(awsClientConfig(budget)), requiredEnv(EVIDENCE_BUCKET_VARIABLE), days);
}
