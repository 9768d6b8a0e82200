import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Services } from '../runtime/services';
import { getItem } from '../store/query';
import { isConditionalCheckFailed, keys, type TableRef } from '../store/table';
import type { EmailPurpose, OutgoingEmail } from './types';

/**
 * Each email of a campaign is sent once, although the step that sends it may be retried, redriven
 * or crash at any point. SES has no idempotency key, so the send is bracketed by a marker item and
 * followed by the chain's `email_sent` event:
 *
 *   1. claim   the marker (conditional: not sent, and no live claim) for SEND_CLAIM_MS
 *   2. send    through SES
 *   3. mark    sent, with SES's message id, on the marker
 *   4. append  `email_sent { purpose, to, reviewer?, messageId }` and note its seq on the marker
 *
 * A failed send gives the claim back (the retry sends at once). A crash after 3 finds the marker
 * sent and only appends the event (found by message id if it was appended just before the crash).
 * A crash between 1 and 3 leaves a claim that expires after SEND_CLAIM_MS, longer than a send may
 * take (SES calls are bounded by the call budget): the next attempt waits for it to expire (if it
 * has the time; otherwise it says `in_progress` and sends nothing), then sends again. Two attempts
 * at once (a notifier's redelivered event) find one claim: the second waits and sees it sent. So the one window in which a person can get an email twice is a crash after SES
 * accepted the message and before the marker said so: at-least-once there, never silently lost.
 *
 * The marker lives in its own partition (`EMAIL#<campaignId>`), not in the campaign's, whose items
 * the evidence export reads by prefix. It holds no address: only purpose, counts and SES's id.
 */

/** How long a claim holds: longer than an SES call may take within its budget (4 attempts of 5 s). */
export const SEND_CLAIM_MS = 60_000;

export type EmailOutcome = 'sent' | 'already_sent' | 'in_progress' | 'not_configured';

export interface OnceEmail {
  campaignId: string;
  purpose: EmailPurpose;
  /** For review tasks and reminders: whose. Part of the marker's key and of the event. */
  reviewer?: string;
  /** For reminders: which one (1-based). Part of the marker's key only. */
  number?: number;
}

interface Marker {
  claimedUntil?: string;
  sentAt?: string;
  messageId?: string | null;
  recipients?: number;
  eventSeq?: number;
  attempts?: number;
}

export function emailMarkerKey(email: OnceEmail): { pk: string; sk: string } {
  const reviewer = email.reviewer ? email.reviewer.toLowerCase() : '-';
  return { pk: `EMAIL#${email.campaignId}`, sk: `${email.purpose}#${reviewer}#${email.number ?? 0}` };
}

function tableOf(services: Services): TableRef {
  return services.store.events.table;
}

/**
 * Sends `compose()` once for this campaign, purpose, reviewer and number (see above). `compose`
 * runs only when the email is to be sent now. Errors from SES are rethrown after the claim is given
 * back; the outcome otherwise says what happened.
 */
export async function sendOnce(
  services: Services,
  email: OnceEmail,
  compose: () => OutgoingEmail | Promise<OutgoingEmail>,
): Promise<EmailOutcome> {
  const sender = services.email;
  if (!sender) return 'not_configured';
  const table = tableOf(services);
  const key = emailMarkerKey(email);
  // How long this attempt waits for another's live claim: until that claim must have expired, and
  // never into the last 10 s of the invocation.
  const timeLeft = services.timeLeftMs?.() ?? Number.POSITIVE_INFINITY;
  const waitUntil = Date.now() + Math.max(0, Math.min(SEND_CLAIM_MS + 1_000, timeLeft - 10_000));
  let waited = false;
  for (;;) {
    const marker = ((await getItem(table, key.pk, key.sk)) ?? {}) as Marker;
    if (marker.eventSeq !== undefined) return 'already_sent';
    if (marker.sentAt !== undefined) {
      // Sent before this attempt began and not recorded: an attempt died between the send and its
      // event, so this one records it. Sent while this one waited: the sender records it itself.
      if (!waited) await recordSent(services, email, marker.messageId ?? null, marker.recipients ?? 0);
      return 'already_sent';
    }
    const claim = await claimMarker(table, key, services.now());
    if (claim === 'claimed' || claim === 'reclaimed') {
      if (claim === 'reclaimed') {
        // An earlier attempt claimed and never said how its send ended: it may have reached SES.
        services.log.warn('email: an earlier attempt died while sending; sending again', {
          campaignId: email.campaignId,
          purpose: email.purpose,
        });
      }
      const outgoing = await compose();
      let messageId: string | null;
      try {
        messageId = (await sender.send(outgoing)).messageId ?? null;
      } catch (error) {
        await releaseMarker(table, key);
        throw error;
      }
      await markSent(table, key, services.now(), messageId, outgoing.to.length);
      await recordSent(services, email, messageId, outgoing.to.length);
      // Counts only: addresses never reach a log line.
      services.log.info('email sent', {
        campaignId: email.campaignId,
        purpose: email.purpose,
        recipients: outgoing.to.length,
        messageId,
      });
      return 'sent';
    }
    if (claim === 'sent') continue;
    // A live claim: another attempt is sending now, or died less than SEND_CLAIM_MS ago. Look
    // again shortly: it is sent, given back, or expires.
    if (Date.now() >= waitUntil) break;
    waited = true;
    await new Promise((resolve) => setTimeout(resolve, CLAIM_POLL_MS));
  }
  services.log.warn('email: another attempt holds the send; not sent by this one', {
    campaignId: email.campaignId,
    purpose: email.purpose,
  });
  return 'in_progress';
}

/** How often an attempt that found a live claim looks at the marker again. */
const CLAIM_POLL_MS = 250;

type Claim = 'claimed' | 'reclaimed' | 'sent' | 'held';

async function claimMarker(table: TableRef, key: { pk: string; sk: string }, now: Date): Promise<Claim> {
  try {
    const result = await table.client.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: key,
        UpdateExpression:
          'SET #kind = :kind, claimedUntil = :until, attempts = if_not_exists(attempts, :zero) + :one',
        ConditionExpression:
          'attribute_not_exists(sentAt) AND (attribute_not_exists(claimedUntil) OR claimedUntil < :now)',
        ExpressionAttributeNames: { '#kind': 'kind' },
        ExpressionAttributeValues: {
          ':kind': 'email_marker',
          ':until': new Date(now.getTime() + SEND_CLAIM_MS).toISOString(),
          ':now': now.toISOString(),
          ':zero': 0,
          ':one': 1,
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return result.Attributes?.claimedUntil === undefined ? 'claimed' : 'reclaimed';
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const marker = ((await getItem(table, key.pk, key.sk)) ?? {}) as Marker;
    return marker.sentAt !== undefined ? 'sent' : 'held';
  }
}

async function releaseMarker(table: TableRef, key: { pk: string; sk: string }): Promise<void> {
  await table.client
    .send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: key,
        UpdateExpression: 'REMOVE claimedUntil',
        ConditionExpression: 'attribute_not_exists(sentAt)',
      }),
    )
    .catch((error: unknown) => {
      if (!isConditionalCheckFailed(error)) throw error;
    });
}

async function markSent(
  table: TableRef,
  key: { pk: string; sk: string },
  now: Date,
  messageId: string | null,
  recipients: number,
): Promise<void> {
  await table.client.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: key,
      UpdateExpression: 'SET sentAt = :now, messageId = :id, recipients = :recipients REMOVE claimedUntil',
      ExpressionAttributeValues: { ':now': now.toISOString(), ':id': messageId, ':recipients': recipients },
    }),
  );
}

/** Appends `email_sent` unless the chain has it already (a crash between the append and the note). */
async function recordSent(
  services: Services,
  email: OnceEmail,
  messageId: string | null,
  recipients: number,
): Promise<void> {
  const table = tableOf(services);
  const key = emailMarkerKey(email);
  const existing = messageId === null ? undefined : await findEmailEvent(table, email.campaignId, messageId);
  const seq =
    existing ??
    (
      await services.store.events.append(
        email.campaignId,
        'email_sent',
        {
          purpose: email.purpose,
          to: recipients,
          ...(email.reviewer ? { reviewer: email.reviewer } : {}),
          messageId,
        },
        services.now(),
      )
    ).seq;
  await table.client.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: key,
      UpdateExpression: 'SET eventSeq = :seq',
      ExpressionAttributeValues: { ':seq': seq },
    }),
  );
}

/** The seq of the `email_sent` event naming this SES message id, if the chain has one. */
async function findEmailEvent(
  table: TableRef,
  campaignId: string,
  messageId: string,
): Promise<number | undefined> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await table.client.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: '#type = :type AND #data.#messageId = :id',
        ExpressionAttributeNames: { '#type': 'type', '#data': 'data', '#messageId': 'messageId' },
        ExpressionAttributeValues: {
          ':pk': keys.campaign(campaignId),
          ':prefix': 'EVENT#',
          ':type': 'email_sent',
          ':id': messageId,
        },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    const found = page.Items?.[0];
    if (found && typeof found.seq === 'number') return found.seq;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return undefined;
}
