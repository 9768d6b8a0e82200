import { createPublicKey, verify } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ChainTamperedError } from '../../core/errors';
import { type CampaignEvent, type EventType, eventHash, GENESIS_HASH } from '../../store/events';
import type { ChainSignature } from '../../store/signatures';
import { keys, type TableRef } from '../../store/table';
import type { ChainSigner } from './signer';
import { chainHeadStatement } from './statement';

export { ChainTamperedError } from '../../core/errors';

/**
 * The head the signer may sign: the chain from the latest signature it finds to the head, checked
 * before the key vouches for it. Without this, whoever rewrites the chain in the table and deletes
 * the signatures after the edit gets the forgery signed by the genuine key at the next step.
 *
 * Refused (ChainTamperedError): a latest signature that does not verify with the signer's own
 * public key (the table's key item is never trusted here); the event at the signed seq missing or
 * holding another hash; a later event whose seq skips, whose prevHash is not the hash before it, or
 * whose hash does not recompute; a campaign past its first event with no signature at all
 * (StartCampaign signs `campaign_started`, so every later step finds one).
 *
 * Cost: one Query for the latest signature (Limit 1) and one for the events from it to the head,
 * usually a handful, a review window's decisions at most. What it cannot see: signatures deleted
 * from the tail and only the events after the last remaining one rewritten, consistently; that
 * chain is indistinguishable from a genuine one here (the Object Lock archive and CloudTrail's
 * kms:Sign count are what tell them apart).
 */
export async function vouchedHead(
  table: TableRef,
  campaignId: string,
  signer: ChainSigner,
): Promise<CampaignEvent | undefined> {
  const signed = await latestSignature(table, campaignId);
  const from = signed?.seq ?? 1;
  const events = await eventsFrom(table, campaignId, from);
  const refuse = (seq: number, reason: string, cause?: unknown): never => {
    throw new ChainTamperedError(
      `campaign ${campaignId}: refusing to sign the chain head, ${reason}`,
      campaignId,
      seq,
      cause === undefined ? undefined : { cause },
    );
  };

  if (!signed) {
    if (events.length === 0) return undefined;
    if (events.length > 1 || events[0]?.seq !== 1) {
      refuse(1, `the chain has ${events.length} events and no signature (StartCampaign signs the first)`);
    }
  } else {
    await checkSignature(signed, campaignId, signer, refuse);
    const first = events[0];
    if (!first || first.seq !== signed.seq) {
      refuse(signed.seq, `the signed event ${signed.seq} is no longer in the table`);
    } else if (first.hash !== signed.hash) {
      refuse(
        signed.seq,
        `event ${signed.seq} was signed with hash ${signed.hash}, the table now has ${first.hash}`,
      );
    }
  }

  let previous: CampaignEvent | undefined;
  for (const event of events) {
    const expectedSeq = previous ? previous.seq + 1 : from;
    if (event.seq !== expectedSeq)
      refuse(expectedSeq, `event ${expectedSeq} is missing (next is ${event.seq})`);
    if (event.campaignId !== campaignId)
      refuse(event.seq, `event ${event.seq} names campaign ${event.campaignId}`);
    if (previous && event.prevHash !== previous.hash) {
      refuse(event.seq, `event ${event.seq} does not link to event ${previous.seq} (prevHash)`);
    }
    if (!previous && !signed && event.prevHash !== GENESIS_HASH) {
      refuse(event.seq, 'the first event does not start from the genesis hash');
    }
    if (eventHash(event) !== event.hash)
      refuse(event.seq, `event ${event.seq}'s hash does not recompute from its content`);
    previous = event;
  }
  return previous;
}

async function checkSignature(
  signed: ChainSignature,
  campaignId: string,
  signer: ChainSigner,
  refuse: (seq: number, reason: string, cause?: unknown) => never,
): Promise<void> {
  let valid = false;
  let failure: unknown;
  try {
    valid =
      signed.campaignId === campaignId &&
      verify(
        'sha256',
        chainHeadStatement(campaignId, signed.seq, signed.hash),
        createPublicKey(await signer.publicKeyPem()),
        Buffer.from(String(signed.signature), 'base64'),
      );
  } catch (error) {
    failure = error;
  }
  if (!valid) {
    refuse(
      signed.seq,
      `the signature of event ${signed.seq} (key ${String(signed.keyId)}) does not verify with the signing key ${signer.keyId}`,
      failure,
    );
  }
}

async function latestSignature(table: TableRef, campaignId: string): Promise<ChainSignature | undefined> {
  const answer = await table.client.send(
    new QueryCommand({
      TableName: table.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': keys.campaign(campaignId), ':prefix': 'SIGNATURE#' },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  const item = answer.Items?.[0];
  if (!item) return undefined;
  return {
    campaignId: item.campaignId as string,
    seq: item.seq as number,
    hash: item.hash as string,
    keyId: item.keyId as string,
    keySha256: item.keySha256 as string,
    algorithm: item.algorithm as ChainSignature['algorithm'],
    signature: item.signature as string,
    signedAt: item.signedAt as string,
  };
}

/** The events from `seq` to the head, in order (sort keys are zero-padded, so BETWEEN is by seq). */
async function eventsFrom(table: TableRef, campaignId: string, seq: number): Promise<CampaignEvent[]> {
  const events: CampaignEvent[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await table.client.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': keys.campaign(campaignId),
          ':from': keys.event(seq),
          ':to': keys.event(9_999_999_999),
        },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      events.push({
        campaignId: item.campaignId as string,
        seq: item.seq as number,
        type: item.type as EventType,
        at: item.at as string,
        data: item.data as Record<string, unknown>,
        prevHash: item.prevHash as string,
        hash: item.hash as string,
      });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return events;
}
