import { createPublicKey, verify } from 'node:crypto';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { AccessReviewError } from '../core/errors';
import { type ChainSigner, keyFingerprint } from '../evidence/signing/signer';
import { type ChainSigningAlgorithm, chainHeadStatement } from '../evidence/signing/statement';
import type { CampaignEvent } from './events';
import { getItem, queryPages, withoutKeys } from './query';
import { isConditionalCheckFailed, keys, type TableRef } from './table';

/**
 * The anchor's records in the table: one signature per signed chain head
 * (`CAMPAIGN#<id>` / `SIGNATURE#<seq, 10 digits>`), the public key of each signing key once
 * (`SIGNING_KEY#<keyId>` / `KEY`), and the Object Lock receipt on the campaign item.
 *
 * The table's writers cannot forge a signature (the private key is in KMS, or in the data
 * directory), but they can delete one or the key item: verification therefore requires the chain's
 * last event to be signed and an auditor to compare the key's fingerprint with KMS's.
 */
export interface ChainSignature {
  campaignId: string;
  seq: number;
  /** The hash of the event at `seq`: the chain head when it was signed. */
  hash: string;
  keyId: string;
  /** SHA-256 (hex) of the signing key's SubjectPublicKeyInfo DER. */
  keySha256: string;
  algorithm: ChainSigningAlgorithm;
  /** Base64 of the DER signature over chainHeadStatement(campaignId, seq, hash). */
  signature: string;
  signedAt: string;
}

export interface SigningKeyRecord {
  keyId: string;
  keySha256: string;
  algorithm: ChainSigningAlgorithm;
  publicKeyPem: string;
  storedAt: string;
}

/** Where Finalize archived the evidence pack (S3 with Object Lock, or the embedded host's folder). */
export interface ArchiveReceipt {
  /** `s3://bucket/campaigns/<id>/` or the folder's absolute path. */
  location: string;
  /** Object Lock retain-until date (the folder archive records the same date it would have). */
  retainUntil: string;
  /** SHA-256 of manifest.json as archived. */
  manifestSha256: string;
  files: number;
  archivedAt: string;
}

/** The slot for a sequence number holds a signature of a different hash: the chain or the table was rewritten. */
export class ChainSignatureConflictError extends AccessReviewError {}

/** A signature that does not verify with its own key was produced or stored: refused before it is written. */
export class ChainSignatureInvalidError extends AccessReviewError {}

export const signatureKeys = {
  signature: (seq: number) => `SIGNATURE#${String(seq).padStart(10, '0')}`,
  signingKey: (keyId: string) => `SIGNING_KEY#${keyId}`,
  signingKeySort: 'KEY',
} as const;

const SIGNATURE_FIELDS = [
  'campaignId',
  'seq',
  'hash',
  'keyId',
  'keySha256',
  'algorithm',
  'signature',
  'signedAt',
] as const satisfies ReadonlyArray<keyof ChainSignature>;

export class SignatureRepository {
  /** Keys already stored by this process, so a warm container writes each once. */
  private readonly storedKeys = new Map<string, string>();

  constructor(private readonly table: TableRef) {}

  /**
   * Signs the event (the chain head when called) once. A slot already holding a signature of the
   * same hash is kept (a retry, or a concurrent step that signed the same head); one of another
   * hash is a ChainSignatureConflictError, never overwritten.
   */
  async sign(
    head: CampaignEvent,
    signer: ChainSigner,
    at: Date,
  ): Promise<{ signature: ChainSignature; created: boolean }> {
    const existing = await this.get(head.campaignId, head.seq);
    if (existing) return { signature: this.sameHead(existing, head), created: false };
    const keySha256 = await this.storeKey(signer, at);
    const statement = chainHeadStatement(head.campaignId, head.seq, head.hash);
    const value = await signer.sign(statement);
    // A wrong key or a KMS answer for another key would be found by the auditor: find it here first.
    if (
      !verify('sha256', statement, createPublicKey(await signer.publicKeyPem()), Buffer.from(value, 'base64'))
    ) {
      throw new ChainSignatureInvalidError(
        `the signature from ${signer.keyId} does not verify with its public key`,
      );
    }
    const signature: ChainSignature = {
      campaignId: head.campaignId,
      seq: head.seq,
      hash: head.hash,
      keyId: signer.keyId,
      keySha256,
      algorithm: signer.algorithm,
      signature: value,
      signedAt: at.toISOString(),
    };
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: {
            pk: keys.campaign(head.campaignId),
            sk: signatureKeys.signature(head.seq),
            kind: 'signature',
            ...signature,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { signature, created: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // Our own put whose answer was lost, or a concurrent step signing the same head.
      const winner = await this.get(head.campaignId, head.seq);
      if (!winner) throw error;
      return { signature: this.sameHead(winner, head), created: false };
    }
  }

  async get(campaignId: string, seq: number): Promise<ChainSignature | undefined> {
    const item = await getItem(this.table, keys.campaign(campaignId), signatureKeys.signature(seq));
    return item ? toSignature(item) : undefined;
  }

  /** The campaign's signatures a page at a time, in sequence order. */
  async *pages(campaignId: string, pageSize?: number): AsyncGenerator<ChainSignature[]> {
    for await (const page of queryPages(this.table, keys.campaign(campaignId), 'SIGNATURE#', { pageSize })) {
      yield page.map(toSignature);
    }
  }

  async publicKey(keyId: string): Promise<SigningKeyRecord | undefined> {
    const item = await getItem(this.table, signatureKeys.signingKey(keyId), signatureKeys.signingKeySort);
    if (!item) return undefined;
    const { kind: _kind, ...rest } = withoutKeys(item);
    return rest as unknown as SigningKeyRecord;
  }

  /** Records where Finalize archived the pack: set once, a retried Finalize keeps the first receipt. */
  async recordArchive(campaignId: string, receipt: ArchiveReceipt): Promise<ArchiveReceipt> {
    try {
      await this.table.client.send(
        new UpdateCommand({
          TableName: this.table.tableName,
          Key: { pk: keys.campaign(campaignId), sk: keys.meta },
          UpdateExpression: 'SET evidenceArchive = :receipt',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(evidenceArchive)',
          ExpressionAttributeValues: { ':receipt': receipt },
        }),
      );
      return receipt;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = await this.archiveReceipt(campaignId);
      if (!existing) throw error;
      return existing;
    }
  }

  async archiveReceipt(campaignId: string): Promise<ArchiveReceipt | undefined> {
    const item = await getItem(this.table, keys.campaign(campaignId), keys.meta);
    const receipt = item?.evidenceArchive;
    return receipt && typeof receipt === 'object' ? (receipt as ArchiveReceipt) : undefined;
  }

  private sameHead(existing: ChainSignature, head: CampaignEvent): ChainSignature {
    if (existing.hash !== head.hash) {
      throw new ChainSignatureConflictError(
        `campaign ${head.campaignId}: seq ${head.seq} was signed with hash ${existing.hash}, the chain now has ${head.hash}`,
      );
    }
    return existing;
  }

  /** The public key once per key id, so evidence can carry it without kms:GetPublicKey. */
  private async storeKey(signer: ChainSigner, at: Date): Promise<string> {
    const known = this.storedKeys.get(signer.keyId);
    if (known) return known;
    const publicKeyPem = await signer.publicKeyPem();
    const keySha256 = keyFingerprint(publicKeyPem);
    const record: SigningKeyRecord = {
      keyId: signer.keyId,
      keySha256,
      algorithm: signer.algorithm,
      publicKeyPem,
      storedAt: at.toISOString(),
    };
    try {
      await this.table.client.send(
        new PutCommand({
          TableName: this.table.tableName,
          Item: {
            pk: signatureKeys.signingKey(signer.keyId),
            sk: signatureKeys.signingKeySort,
            kind: 'signing_key',
            ...record,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = await this.publicKey(signer.keyId);
      // Someone wrote another key under this id: evidence would carry it. Stop rather than sign beside it.
      if (!existing || existing.keySha256 !== keySha256) {
        throw new ChainSignatureConflictError(
          `the table holds another public key for ${signer.keyId} (sha256 ${existing?.keySha256 ?? 'unreadable'}); the signer's is ${keySha256}`,
        );
      }
    }
    this.storedKeys.set(signer.keyId, keySha256);
    return keySha256;
  }
}

function toSignature(item: Record<string, unknown>): ChainSignature {
  return Object.fromEntries(
    SIGNATURE_FIELDS.map((field) => [field, item[field]]),
  ) as unknown as ChainSignature;
}
