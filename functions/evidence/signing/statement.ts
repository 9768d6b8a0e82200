import { AccessReviewError } from '../../core/errors';

/**
 * The bytes a chain-head signature covers, defined once: the first line names the format, then the
 * campaign id, the event's sequence number (decimal, no padding) and its hash (64 lowercase hex),
 * separated by a newline, with no newline at the end. An auditor rebuilds them with
 *
 *   printf 'access-review chain head v1\n%s\n%s\n%s' "$CAMPAIGN" "$SEQ" "$HASH" > statement
 *
 * and checks a signature (base64 of DER) with
 *
 *   base64 -d <<< "$SIGNATURE" > signature.der
 *   openssl dgst -sha256 -verify signing-key.pem -signature signature.der statement
 */
export const CHAIN_HEAD_STATEMENT_FORMAT = 'access-review chain head v1';

/** ECDSA over P-256 with SHA-256, DER-encoded: the only algorithm signed or accepted (KMS's name for it). */
export const CHAIN_SIGNING_ALGORITHM = 'ECDSA_SHA_256';
export type ChainSigningAlgorithm = typeof CHAIN_SIGNING_ALGORITHM;

/** A statement that could be read two ways (a newline in the campaign id, a malformed hash) is never built. */
export class ChainStatementError extends AccessReviewError {}

const HASH = /^[0-9a-f]{64}$/;

export function chainHeadStatement(campaignId: string, seq: number, hash: string): Buffer {
  if (campaignId === '' || /[\r\n]/.test(campaignId)) {
    throw new ChainStatementError('a campaign id in a signed statement must be one non-empty line');
  }
  if (!Number.isSafeInteger(seq) || seq < 1) {
    throw new ChainStatementError(`a signed sequence number must be a positive integer, not ${String(seq)}`);
  }
  if (!HASH.test(hash)) throw new ChainStatementError('a signed chain hash must be 64 lowercase hex digits');
  return Buffer.from(`${CHAIN_HEAD_STATEMENT_FORMAT}\n${campaignId}\n${seq}\n${hash}`, 'utf8');
}
