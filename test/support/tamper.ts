import { createHash } from 'node:crypto';
import { cp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BatchWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { WebClient } from '@slack/web-api';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { type CheckResult, type Connector, connectorRegistry } from '../../functions/connectors/connector';
import { teamMembershipKey } from '../../functions/connectors/github/keys';
import { parseConfig } from '../../functions/core/config';
import { type Grant, makeGrant } from '../../functions/core/grant';
import type { Manifest } from '../../functions/evidence/export';
import { type ChainSigner, keyFingerprint } from '../../functions/evidence/signing/signer';
import { chainHeadStatement } from '../../functions/evidence/signing/statement';
import type { Services } from '../../functions/runtime/services';
import { applyRevocations } from '../../functions/steps/apply-revocations';
import { assignReviewers } from '../../functions/steps/assign-reviewers';
import { finalizeCampaign } from '../../functions/steps/finalize';
import { markUnresponsive } from '../../functions/steps/mark-unresponsive';
import { recordDecision } from '../../functions/steps/record-decision';
import { requestReview } from '../../functions/steps/request-review';
import { takeSnapshot } from '../../functions/steps/snapshot';
import { startCampaign } from '../../functions/steps/start-campaign';
import { verifyRevocations } from '../../functions/steps/verify-revocations';
import {
  type CampaignEvent,
  canonicalJson,
  type EventType,
  eventHash,
  GENESIS_HASH,
} from '../../functions/store/events';
import type { Store } from '../../functions/store/index';
import { getItem, queryAll } from '../../functions/store/query';
import { signatureKeys } from '../../functions/store/signatures';
import { keys, type TableRef } from '../../functions/store/table';
import { type SlackSandbox, startSlackSandbox } from '../../sandbox/slack/server';
import { passGuard } from './guard';
import { testServices } from './local-store';

/*
 * Tampering as someone with write access would do it: to the table (through the DynamoDB document
 * client, as any writer of the table can) and to an evidence folder. Every helper covers its
 * tracks as far as the hashes go: a chain it changes is re-hashed from the first event it touched,
 * the records that name an event's seq are re-pointed, and a folder's manifest is recomputed, so
 * only a check that does not rest on those hashes (a signature, a completeness rule, a rebuild
 * from the chain) can find what was done.
 */

type Item = Record<string, unknown>;

const sha256 = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * Signs the chain head as a workflow step does after it returns (tests that call steps directly
 * have no signer in their services): what the anchor checks, so the campaigns here carry it.
 */
export async function signHead(store: Store, campaignId: string, signer: ChainSigner): Promise<void> {
  const head = await store.events.head(campaignId);
  if (head) await store.signatures.sign(head, signer, new Date());
}

// ─── the table ──────────────────────────────────────────────────────────────────────────────────

/** Every item of the campaign's partition, as stored (keys included). */
export function partitionItems(table: TableRef, campaignId: string, prefix = ''): Promise<Item[]> {
  return queryAll<Item>(table, keys.campaign(campaignId), prefix);
}

async function batchWrite(table: TableRef, requests: Record<string, unknown>[]): Promise<void> {
  for (let start = 0; start < requests.length; start += 25) {
    let pending: Record<string, unknown>[] | undefined = requests.slice(start, start + 25);
    while (pending && pending.length > 0) {
      const result = await table.client.send(
        new BatchWriteCommand({ RequestItems: { [table.tableName]: pending } }),
      );
      pending = result.UnprocessedItems?.[table.tableName] as Record<string, unknown>[] | undefined;
    }
  }
}

export function putItems(table: TableRef, items: readonly Item[]): Promise<void> {
  return batchWrite(
    table,
    items.map((item) => ({ PutRequest: { Item: item } })),
  );
}

export function deleteItems(table: TableRef, items: readonly Item[]): Promise<void> {
  return batchWrite(
    table,
    items.map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })),
  );
}

/** Deletes every item of the partition whose sort key starts with one of `prefixes`. */
export async function deleteByPrefix(
  table: TableRef,
  campaignId: string,
  prefixes: readonly string[],
): Promise<Item[]> {
  const doomed: Item[] = [];
  for (const prefix of prefixes) doomed.push(...(await partitionItems(table, campaignId, prefix)));
  await deleteItems(table, doomed);
  return doomed;
}

/** Puts the partition back exactly as `items` (taken with partitionItems) had it. */
export async function restorePartition(table: TableRef, campaignId: string, items: readonly Item[]) {
  await deleteItems(table, await partitionItems(table, campaignId));
  await putItems(table, items);
}

/**
 * The public-key items the campaign's signatures name (kept outside the campaign's partition, one
 * per key): what restorePartition cannot put back on its own.
 */
export async function signingKeyItems(table: TableRef, campaignId: string): Promise<Item[]> {
  const keyIds = new Set(
    (await partitionItems(table, campaignId, 'SIGNATURE#')).map((item) => String(item.keyId)),
  );
  const items: Item[] = [];
  for (const keyId of keyIds) {
    const item = await getItem<Item>(table, signatureKeys.signingKey(keyId), signatureKeys.signingKeySort);
    if (item) items.push(item);
  }
  return items;
}

/** Sets attributes on one item of the partition. */
export async function updateItem(
  table: TableRef,
  campaignId: string,
  sk: string,
  values: Record<string, unknown>,
): Promise<void> {
  const names: Record<string, string> = {};
  const placeholders: Record<string, unknown> = {};
  const sets = Object.entries(values).map(([name, value], index) => {
    names[`#n${index}`] = name;
    placeholders[`:v${index}`] = value;
    return `#n${index} = :v${index}`;
  });
  await table.client.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: { pk: keys.campaign(campaignId), sk },
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: placeholders,
    }),
  );
}

/** An event as the forger arranges it: `from` is its seq in the original chain (absent when new). */
export interface ChainEntry {
  from?: number;
  type: EventType;
  at: string;
  data: Record<string, unknown>;
}

export function entriesOf(events: readonly CampaignEvent[]): ChainEntry[] {
  return events.map((event) => ({
    from: event.seq,
    type: event.type,
    at: event.at,
    data: structuredClone(event.data),
  }));
}

/** The entries as a valid chain: numbered from 1, each hashed over the one before it. */
export function rechain(campaignId: string, entries: readonly ChainEntry[]): CampaignEvent[] {
  let prevHash = GENESIS_HASH;
  return entries.map((entry, index) => {
    const partial = {
      campaignId,
      seq: index + 1,
      type: entry.type,
      at: entry.at,
      data: entry.data,
      prevHash,
    };
    const event: CampaignEvent = { ...partial, hash: eventHash(partial) };
    prevHash = event.hash;
    return event;
  });
}

export async function tableEvents(table: TableRef, campaignId: string): Promise<CampaignEvent[]> {
  return (await partitionItems(table, campaignId, 'EVENT#')).map((item) => ({
    campaignId: item.campaignId as string,
    seq: item.seq as number,
    type: item.type as EventType,
    at: item.at as string,
    data: item.data as Record<string, unknown>,
    prevHash: item.prevHash as string,
    hash: item.hash as string,
  }));
}

/**
 * Rewrites the campaign's chain in the table as `transform` arranges its events, re-hashed from
 * the start, and re-points every record's `eventSeq` (decisions, revocations, verifications) at
 * its event's new seq, so decisions.csv and the rest agree with the forged chain.
 */
export async function rewriteTableChain(
  table: TableRef,
  campaignId: string,
  transform: (entries: ChainEntry[]) => ChainEntry[],
): Promise<CampaignEvent[]> {
  const before = await tableEvents(table, campaignId);
  const entries = transform(entriesOf(before));
  const events = rechain(campaignId, entries);
  await deleteByPrefix(table, campaignId, ['EVENT#']);
  await putItems(
    table,
    events.map((event) => ({
      pk: keys.campaign(campaignId),
      sk: keys.event(event.seq),
      kind: 'event',
      ...event,
    })),
  );
  const moved = new Map<number, number>();
  entries.forEach((entry, index) => {
    if (entry.from !== undefined) moved.set(entry.from, index + 1);
  });
  for (const prefix of ['DECISION#', 'REVOCATION#', 'VERIFICATION#']) {
    for (const item of await partitionItems(table, campaignId, prefix)) {
      if (typeof item.eventSeq !== 'number') continue;
      const seq = moved.get(item.eventSeq);
      if (seq !== undefined && seq !== item.eventSeq)
        await updateItem(table, campaignId, String(item.sk), { eventSeq: seq });
    }
  }
  return events;
}

/** Index of the first entry of `type` (throws when there is none: the tampering would be a no-op). */
export function indexOfType(entries: readonly ChainEntry[], type: EventType, from = 0): number {
  const index = entries.findIndex((entry, i) => i >= from && entry.type === type);
  if (index === -1) throw new Error(`no ${type} event to tamper with`);
  return index;
}

/** Where a forger inserts an event so the chain still ends in campaign_completed. */
export function beforeTerminal(entries: readonly ChainEntry[]): number {
  const index = entries.findIndex((entry) => entry.type === 'campaign_completed');
  return index === -1 ? entries.length : index;
}

const REVOCATION_EVENTS: ReadonlySet<string> = new Set([
  'revocation_applied',
  'revocation_failed',
  'revocation_rejected',
  'revocation_refused',
  'revocation_verified',
]);

/** Table tamperings, each covering its tracks (see the top of this file). */
export const tableTamper = {
  /** Changes a decision's justification in its event and its record. */
  async editDecision(table: TableRef, campaignId: string, grantId: string, justification: string) {
    await rewriteTableChain(table, campaignId, (entries) => {
      const entry = entries.find((e) => e.type === 'decision_recorded' && e.data.grantId === grantId);
      if (!entry) throw new Error(`no decision event for ${grantId}`);
      entry.data.justification = justification;
      return entries;
    });
    await updateItem(table, campaignId, keys.decision(grantId), { justification });
  },

  /** Swaps the first two decision events (so the chain says they were decided the other way round). */
  async reorderDecisions(table: TableRef, campaignId: string) {
    await rewriteTableChain(table, campaignId, (entries) => {
      const first = indexOfType(entries, 'decision_recorded');
      const second = indexOfType(entries, 'decision_recorded', first + 1);
      const swapped = [...entries];
      [swapped[first], swapped[second]] = [swapped[second] as ChainEntry, swapped[first] as ChainEntry];
      return swapped;
    });
  },

  /** Deletes the last event (campaign_completed); the chain is still valid, only shorter. */
  async deleteLastEvent(table: TableRef, campaignId: string) {
    const events = await tableEvents(table, campaignId);
    const last = events.at(-1);
    if (!last) throw new Error('no event to delete');
    await deleteItems(table, [{ pk: keys.campaign(campaignId), sk: keys.event(last.seq) }]);
    return last;
  },

  /** Deletes every signature of the campaign's chain heads. */
  async deleteSignatures(table: TableRef, campaignId: string) {
    return deleteByPrefix(table, campaignId, ['SIGNATURE#']);
  },

  /**
   * Replaces the public key the table holds for the campaign's signing key with `publicKeyPem`
   * (another key, fingerprint and all): evidence exported afterwards carries that key.
   */
  async swapSigningKey(table: TableRef, campaignId: string, publicKeyPem: string, keySha256: string) {
    const items = await signingKeyItems(table, campaignId);
    if (items.length === 0) throw new Error('no signing key to swap');
    await putItems(
      table,
      items.map((item) => ({ ...item, publicKeyPem, keySha256 })),
    );
  },

  /** Deletes every revocation outcome and verification, events and records, and re-hashes. */
  async deleteRevocations(table: TableRef, campaignId: string) {
    await rewriteTableChain(table, campaignId, (entries) =>
      entries.filter((entry) => !REVOCATION_EVENTS.has(entry.type)),
    );
    return deleteByPrefix(table, campaignId, ['REVOCATION#', 'VERIFICATION#']);
  },

  /** As deleteRevocations, and campaign_completed too: the campaign made to look unfinished. */
  async deleteRevocationsAndCompletion(table: TableRef, campaignId: string) {
    await rewriteTableChain(table, campaignId, (entries) =>
      entries.filter((entry) => !REVOCATION_EVENTS.has(entry.type) && entry.type !== 'campaign_completed'),
    );
    return deleteByPrefix(table, campaignId, ['REVOCATION#', 'VERIFICATION#']);
  },

  /**
   * Records a keep decision the reviewer never made (a grant of the unresponsive reviewer): the
   * record, and its event before campaign_completed, re-hashed.
   */
  async addDecision(
    table: TableRef,
    campaignId: string,
    decision: {
      grantId: string;
      reviewer: string;
      slackUserId: string;
      decision: 'keep' | 'revoke';
      /** When the click was (default now, i.e. after the review closed). */
      at?: string;
    },
  ) {
    let seq = 0;
    const at = decision.at ?? new Date().toISOString();
    await rewriteTableChain(table, campaignId, (entries) => {
      const index = beforeTerminal(entries);
      seq = index + 1;
      return [
        ...entries.slice(0, index),
        {
          type: 'decision_recorded',
          at,
          data: {
            grantId: decision.grantId,
            decision: decision.decision,
            reviewer: decision.reviewer,
            decidedBySlackUserId: decision.slackUserId,
            justification: null,
          },
        },
        ...entries.slice(index),
      ];
    });
    await putItems(table, [
      {
        pk: keys.campaign(campaignId),
        sk: keys.decision(decision.grantId),
        kind: 'decision',
        gsi1pk: keys.reviewerGrants(campaignId, decision.reviewer),
        gsi1sk: keys.decision(decision.grantId),
        campaignId,
        grantId: decision.grantId,
        decision: decision.decision,
        reviewer: decision.reviewer,
        decidedBySlackUserId: decision.slackUserId,
        decidedAt: at,
        channel: 'slack',
        eventSeq: seq,
      },
    ]);
    return seq;
  },

  /**
   * A second decision on a decided grant, overriding the first: its event before
   * campaign_completed (re-hashed), and the record rewritten to say what it says.
   */
  async overrideDecision(
    table: TableRef,
    campaignId: string,
    grantId: string,
    override: { decision: 'keep' | 'revoke'; justification: string },
  ) {
    let seq = 0;
    const at = new Date().toISOString();
    await rewriteTableChain(table, campaignId, (entries) => {
      const first = entries.find((e) => e.type === 'decision_recorded' && e.data.grantId === grantId);
      if (!first) throw new Error(`no decision event for ${grantId}`);
      if (first.data.decision === override.decision && first.data.justification === override.justification)
        throw new Error(`${grantId} is already decided so`);
      const index = beforeTerminal(entries);
      seq = index + 1;
      return [
        ...entries.slice(0, index),
        { type: 'decision_recorded', at, data: { ...first.data, ...override } },
        ...entries.slice(index),
      ];
    });
    await updateItem(table, campaignId, keys.decision(grantId), {
      ...override,
      decidedAt: at,
      eventSeq: seq,
    });
    return seq;
  },
};

// ─── an evidence folder ─────────────────────────────────────────────────────────────────────────

export async function copyFolder(from: string, to: string): Promise<string> {
  await cp(from, to, { recursive: true, verbatimSymlinks: true });
  return to;
}

export async function readManifest(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * Recomputes the SHA-256 and size of every file the manifest lists that is in the folder (a file
 * that is not is left as listed), and whatever `edit` changes on top.
 */
export async function rehashManifest(dir: string, edit: (manifest: Manifest) => void = () => undefined) {
  const manifest = await readManifest(dir);
  for (const file of manifest.files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, file.name));
    } catch {
      continue;
    }
    file.sha256 = sha256(bytes);
    file.bytes = bytes.length;
  }
  edit(manifest);
  await writeManifest(dir, manifest);
  return manifest;
}

/** Rewrites one file and re-hashes the manifest. */
export async function editFile(dir: string, name: string, edit: (text: string) => string): Promise<void> {
  const path = join(dir, name);
  const before = await readFile(path, 'utf8');
  const after = edit(before);
  if (after === before) throw new Error(`editing ${name} changed nothing`);
  await writeFile(path, after);
  await rehashManifest(dir);
}

export type CsvRow = Record<string, string>;

export function parseCsv(text: string): { header: string[]; rows: CsvRow[] } {
  const records = parse(text, { relax_column_count: true }) as string[][];
  const [header = [], ...body] = records;
  return {
    header,
    rows: body.map((cells) => Object.fromEntries(header.map((column, i) => [column, cells[i] ?? '']))),
  };
}

export function formatCsv(header: readonly string[], rows: readonly CsvRow[]): string {
  return stringify([header, ...rows.map((row) => header.map((column) => row[column] ?? ''))]);
}

/** Rewrites a CSV's rows (header kept, quoted as the export quotes) and re-hashes the manifest. */
export function editCsv(dir: string, name: string, edit: (rows: CsvRow[]) => CsvRow[]): Promise<void> {
  return editFile(dir, name, (text) => {
    const { header, rows } = parseCsv(text);
    return formatCsv(header, edit(rows));
  });
}

export function parseEvents(text: string): CampaignEvent[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CampaignEvent);
}

/** events.jsonl as the export writes it: one event a line, keys in the export's order. */
export function formatEvents(events: readonly CampaignEvent[]): string {
  return events.map((event) => `${canonicalJson(event)}\n`).join('');
}

/**
 * Rewrites events.jsonl as `transform` arranges its events, re-chains it, and points the manifest
 * at the new head and count (hashes recomputed): a new chain that hangs together on its own.
 */
export async function rewriteEventsFile(
  dir: string,
  transform: (entries: ChainEntry[]) => ChainEntry[],
): Promise<CampaignEvent[]> {
  const path = join(dir, 'events.jsonl');
  const before = parseEvents(await readFile(path, 'utf8'));
  const campaignId = before[0]?.campaignId ?? (await readManifest(dir)).campaignId;
  const events = rechain(campaignId, transform(entriesOf(before)));
  await writeFile(path, formatEvents(events));
  await rehashManifest(dir, (manifest) => {
    manifest.chainHead = events.at(-1)?.hash ?? null;
    manifest.events = events.length;
  });
  return events;
}

const REVOCATION_COLUMNS_CLEARED = [
  'applied_at',
  'action',
  'remediation',
  'error',
  'verified_at',
  'still_present_via',
  'policy_changes',
] as const;

/** Folder tamperings, each covering its tracks (the manifest recomputed every time). */
export const folderTamper = {
  /** A reviewer who never answered shown as having completed their review. */
  async reviewerCompleted(dir: string, reviewer: string) {
    await editCsv(dir, 'reviewers.csv', (rows) =>
      rows.map((row) =>
        row.reviewer === reviewer ? { ...row, status: 'completed', completed_at: row.due_at ?? '' } : row,
      ),
    );
  },

  /** summary.json with a count changed. */
  async summaryCount(dir: string, field: string, value: number) {
    await editFile(dir, 'summary.json', (text) => {
      const summary = JSON.parse(text) as Item;
      if (summary[field] === value) throw new Error(`summary.json already says ${field}: ${value}`);
      summary[field] = value;
      return `${JSON.stringify(summary, null, 2)}\n`;
    });
  },

  /** grants.csv with one grant's reviewer or routing reason changed (not a hashed column). */
  async grantColumn(dir: string, grantId: string, column: 'reviewer' | 'routing_reason', value: string) {
    await editCsv(dir, 'grants.csv', (rows) =>
      rows.map((row) => (row.grant_id === grantId ? { ...row, [column]: value } : row)),
    );
  },

  /** events.jsonl rewritten (one decision's justification changed) with its new chain head. */
  async rewriteChain(dir: string, grantId: string, justification: string) {
    await rewriteEventsFile(dir, (entries) => {
      const entry = entries.find((e) => e.type === 'decision_recorded' && e.data.grantId === grantId);
      if (!entry) throw new Error(`no decision event for ${grantId}`);
      entry.data.justification = justification;
      return entries;
    });
    await editCsv(dir, 'decisions.csv', (rows) =>
      rows.map((row) => (row.grant_id === grantId ? { ...row, justification } : row)),
    );
  },

  /**
   * The chain cut before its first revocation outcome, and revocations.csv / policy-changes.jsonl
   * rewritten to what such a chain implies (nothing applied, nothing verified).
   */
  async truncateBeforeRevocations(dir: string) {
    await rewriteEventsFile(dir, (entries) => entries.slice(0, indexOfType(entries, 'revocation_applied')));
    await editCsv(dir, 'revocations.csv', (rows) =>
      rows.map((row) => ({
        ...row,
        ...Object.fromEntries(REVOCATION_COLUMNS_CLEARED.map((column) => [column, ''])),
        revocation_status: 'not_applied',
        verification: 'not_verified',
      })),
    );
    await writeFile(join(dir, 'policy-changes.jsonl'), '');
    await rehashManifest(dir);
  },

  /** A manifest that lists no file at all (so no file hash can disagree). */
  async emptyManifest(dir: string) {
    const manifest = await readManifest(dir);
    manifest.files = [];
    await writeManifest(dir, manifest);
  },

  /** A manifest entry naming a file outside the folder, with that file's real hash and size. */
  async manifestEntry(dir: string, name: string, outsideFile: string) {
    const bytes = await readFile(outsideFile);
    const manifest = await readManifest(dir);
    manifest.files.push({ name, sha256: sha256(bytes), bytes: bytes.length });
    await writeManifest(dir, manifest);
  },

  /** A file replaced by a symlink to an identical copy outside the folder (hash unchanged). */
  async symlinkFile(dir: string, name: string, outsideCopy: string) {
    await cp(join(dir, name), outsideCopy);
    await rm(join(dir, name));
    await symlink(outsideCopy, join(dir, name));
  },

  /** A file deleted; `unlist` also drops it from the manifest. */
  async removeFile(dir: string, name: string, options: { unlist?: boolean } = {}) {
    await rm(join(dir, name));
    if (options.unlist) {
      const manifest = await readManifest(dir);
      manifest.files = manifest.files.filter((file) => file.name !== name);
      await writeManifest(dir, manifest);
    }
  },

  /** signing-key.pem replaced by another key (the signatures left as they are). */
  async swapKeyFile(dir: string, publicKeyPem: string) {
    await editFile(dir, 'signing-key.pem', () => publicKeyPem);
  },

  /**
   * Every signature in signatures.jsonl made again, with the forger's key, over the chain as
   * events.jsonl now has it, and signing-key.pem replaced by the forger's public key: a rewritten
   * chain that carries valid signatures, of the wrong key.
   */
  async resignWith(dir: string, signer: ChainSigner) {
    const events = parseEvents(await readFile(join(dir, 'events.jsonl'), 'utf8'));
    const pem = await signer.publicKeyPem();
    const lines = (await readFile(join(dir, 'signatures.jsonl'), 'utf8'))
      .split('\n')
      .filter((line) => line !== '');
    const resigned: string[] = [];
    for (const line of lines) {
      const signature = JSON.parse(line) as Record<string, unknown>;
      const event = events.find((e) => e.seq === signature.seq);
      if (!event) continue;
      const statement = chainHeadStatement(event.campaignId, event.seq, event.hash);
      resigned.push(
        canonicalJson({
          ...signature,
          hash: event.hash,
          keyId: signer.keyId,
          keySha256: keyFingerprint(pem),
          signature: await signer.sign(statement),
        }),
      );
    }
    await writeFile(join(dir, 'signatures.jsonl'), resigned.map((line) => `${line}\n`).join(''));
    await writeFile(join(dir, 'signing-key.pem'), pem);
    await rehashManifest(dir);
  },

  /** A line that is not JSON inserted after event `after`. */
  async nonJsonEventLine(dir: string, after: number, line = '{"seq": 3, "type": "decision_recorded", oops') {
    await editFile(dir, 'events.jsonl', (text) => {
      const lines = text.split('\n');
      lines.splice(after, 0, line);
      return lines.join('\n');
    });
  },
};

// ─── a campaign as the workflow runs it ─────────────────────────────────────────────────────────

/** The reviewers of workflowCampaign: alice and bob decide everything, carol never answers. */
export const WORKFLOW_REVIEWERS = [
  { login: 'alice', slackUserId: 'U0ALICE01', email: 'alice@acme.example' },
  { login: 'bob', slackUserId: 'U0BOB0001', email: 'bob@acme.example' },
  { login: 'carol', slackUserId: 'U0CAROL01', email: 'carol@acme.example' },
] as const;

export interface WorkflowCampaign {
  campaignId: string;
  services: Services;
  grants: Grant[];
  /** Grants decided revoke (one of them, read again, is still there; a few need a person). */
  revoked: string[];
  /** With `followUp`: the grants it handed over and the one the end-of-window policy kept. */
  followUp?: FollowUp;
}

/** What workflowCampaign's `followUp` did, for tests to tamper with. */
export interface FollowUp {
  /** alice's grant she delegated to bob, which bob then decided. */
  delegated: string;
  /** carol's grant escalated to alice, which alice then decided. */
  escalated: string;
  /** bob's grant kept by "Keep all remaining". */
  bulk: string;
  /** carol's grant the end-of-window policy kept when her window closed. */
  policy: string;
}

/**
 * `size` team memberships of acme/team-0 … team-4 (team-0 and team-3 owned by alice, team-1 and
 * team-4 by bob, team-2 by carol), the source answering like membershipConnector in
 * evidence-campaign.ts: revocations of principals ending in 5 need a person, the rest are removed.
 */
function teamGrants(size: number): Grant[] {
  return Array.from({ length: size }, (_, index) =>
    makeGrant(
      teamMembershipKey('acme', `team-${index % 5}`, `user${String(index).padStart(4, '0')}`, 'member'),
      { flags: index % 11 === 0 ? ['two_factor_disabled'] : [], reviewable: index % 13 !== 0 },
    ),
  ).sort((a, b) => a.grantId.localeCompare(b.grantId));
}

function teamConnector(grants: Grant[], present: Set<string>): Connector {
  return {
    name: 'github',
    async *snapshot() {
      yield* grants;
    },
    async revoke(grant) {
      if (grant.principal.endsWith('5')) {
        return {
          outcome: 'remediation_required',
          appliedAt: new Date().toISOString(),
          action: 'none: membership comes from the IdP, "sync" group',
          remediation: `remove ${grant.principal} from the IdP group, then wait for the sync`,
        };
      }
      present.delete(grant.grantId);
      return {
        outcome: 'removed',
        appliedAt: new Date().toISOString(),
        action: `DELETE /orgs/acme/teams/${grant.resource}/memberships/${grant.principal}: removed`,
      };
    },
    async check(grant): Promise<CheckResult> {
      const checkedAt = new Date().toISOString();
      return present.has(grant.grantId)
        ? { status: 'present', checkedAt, paths: [{ via: 'direct', permission: 'member' }] }
        : { status: 'absent', checkedAt };
    },
    usage: () => ({ requests: { core: 3 }, points: {} }),
  };
}

/**
 * A campaign run through the workflow's steps in order, as the state machine calls them, against
 * `store` and the Slack sandbox `slackApiUrl`: StartCampaign, Snapshot, AssignReviewers,
 * RequestReview per reviewer, the reviewers' clicks (RecordDecision), MarkUnresponsive for carol
 * when her window closes, the revocation guard, ApplyRevocations, VerifyRevocations, Finalize.
 * The chain head is signed after every step, as the handlers do. So the chain carries everything
 * the workflow writes (campaign_started, reviewers_assigned, review_requested …) for the
 * evidence's checks to anchor on.
 */
export async function workflowCampaign(
  store: Store,
  options: {
    executionName: string;
    size: number;
    slackApiUrl: string;
    signer: ChainSigner;
    /**
     * Issue 10's follow-up, written as its steps write it: a reminder (and its email) to carol,
     * one of alice's grants delegated to bob and decided by him, one of carol's escalated to alice
     * and decided by her, one of bob's kept by "Keep all remaining", and one of carol's undecided
     * grants kept by the end-of-window policy once her window closed.
     */
    followUp?: boolean;
    /** A reason and scope terms on campaign_started. */
    scope?: { terms: string[]; reason: string };
  },
): Promise<WorkflowCampaign> {
  const grants = teamGrants(options.size);
  const present = new Set(grants.map((grant) => grant.grantId));
  const config = parseConfig({
    github: { organization: 'acme' },
    routing: {
      owners: [0, 1, 2, 3, 4].map((team) => ({
        resource: `acme/team-${team}`,
        resourceType: 'team',
        reviewer: (WORKFLOW_REVIEWERS[team % 3] ?? WORKFLOW_REVIEWERS[0]).login,
      })),
      fallbackReviewers: ['alice'],
    },
    people: WORKFLOW_REVIEWERS.map(({ login, email }) => ({ github: login, email })),
  });
  const client = new WebClient(SLACK_BOT_TOKEN, { slackApiUrl: options.slackApiUrl });
  const services = testServices(store, {
    config,
    slack: async () => client,
    connectors: connectorRegistry({ github: async () => teamConnector(grants, present) }),
    tasks: { succeed: async () => undefined },
    signer: options.signer,
  });
  const sign = () => signHead(store, campaignId, options.signer);

  const { campaignId } = await startCampaign(
    {
      trigger: 'test',
      requestedBy: 'vitest',
      executionName: options.executionName,
      ...(options.scope ? { scope: options.scope.terms, reason: options.scope.reason } : {}),
    } as Parameters<typeof startCampaign>[0],
    services,
  );
  await sign();
  await takeSnapshot({ campaignId }, services);
  await sign();
  const { reviewers } = await assignReviewers({ campaignId }, services);
  await sign();
  for (const reviewer of reviewers) {
    await requestReview({ campaignId, reviewer, taskToken: `token-${reviewer}` }, services);
    await sign();
  }
  const revoked: string[] = [];
  const followUp = options.followUp ? await followUpBeforeClicks(store, campaignId, grants) : undefined;
  if (followUp) await sign();
  for (const [index, grant] of grants.entries()) {
    const stored = await store.grants.get(campaignId, grant.grantId);
    const reviewer = WORKFLOW_REVIEWERS.find((r) => r.login === stored?.reviewer);
    if (!reviewer || reviewer.login === 'carol') continue;
    if (followUp && (grant.grantId === followUp.delegated || grant.grantId === followUp.bulk)) continue;
    const decision = index % 5 === 0 ? 'revoke' : 'keep';
    const justification = index % 4 === 0 ? 'left the team, "moved" to sales;\nsee HR-12, HR-13' : undefined;
    const outcome = await recordDecision(
      { campaignId, grantId: grant.grantId, decision, slackUserId: reviewer.slackUserId, justification },
      services,
    );
    if (outcome.kind !== 'recorded') throw new Error(`the click on ${grant.grantId} was ${outcome.kind}`);
    if (decision === 'revoke') revoked.push(grant.grantId);
  }
  if (reviewers.includes('carol')) {
    await markUnresponsive({ campaignId, reviewer: 'carol', error: { Error: 'States.Timeout' } }, services);
    await sign();
  }
  if (followUp) {
    await policyKeep(store, campaignId, followUp.policy);
    await sign();
  }
  await passGuard(store, services, campaignId);
  await sign();
  await applyRevocations({ campaignId }, services);
  await sign();
  // One removal the source still shows: verification finds it present.
  const stillThere = revoked.find((grantId) => !present.has(grantId));
  if (stillThere) present.add(stillThere);
  await verifyRevocations({ campaignId }, services);
  await sign();
  await finalizeCampaign({ campaignId }, services);
  await sign();
  return { campaignId, services, grants, revoked, ...(followUp ? { followUp } : {}) };
}

const slackIdOf = (login: string) => WORKFLOW_REVIEWERS.find((r) => r.login === login)?.slackUserId ?? '';

/**
 * A decision as record-decision.ts writes it (record, event, link, count on the task), for the
 * decisions the steps here do not take: a delegate's, an escalation assignee's, a bulk keep.
 */
async function writeDecision(
  store: Store,
  campaignId: string,
  grantId: string,
  fields: { reviewer: string; decidedBy?: string; slackUserId: string; bulk?: boolean },
): Promise<void> {
  const at = new Date();
  const { reviewer, decidedBy, slackUserId, bulk } = fields;
  await store.decisions.record({
    campaignId,
    grantId,
    decision: 'keep',
    reviewer,
    ...(decidedBy ? { decidedBy } : {}),
    ...(bulk ? { bulk: true } : {}),
    decidedBySlackUserId: slackUserId,
    decidedAt: at.toISOString(),
    channel: 'slack',
  });
  const event = await store.events.append(
    campaignId,
    'decision_recorded',
    {
      grantId,
      decision: 'keep',
      reviewer,
      decidedBySlackUserId: slackUserId,
      justification: null,
      ...(decidedBy ? { decidedBy } : {}),
      ...(bulk ? { bulk: true } : {}),
    },
    at,
  );
  await store.decisions.linkEvent(campaignId, grantId, event.seq);
  await store.tasks.countDecision(campaignId, reviewer, 'keep');
}

/** A grant handed over, as cadence's reassignGrants records it. */
async function handOver(
  store: Store,
  campaignId: string,
  grantId: string,
  fields: { taskReviewer: string; to: string; by: 'delegation' | 'escalation'; note: string | null },
): Promise<void> {
  await store.events.append(
    campaignId,
    'grant_reassigned',
    {
      grantId,
      taskReviewer: fields.taskReviewer,
      from: fields.taskReviewer,
      to: fields.to,
      toSlackUserId: slackIdOf(fields.to),
      by: fields.by,
      actorSlackUserId: fields.by === 'delegation' ? slackIdOf(fields.taskReviewer) : null,
      note: fields.note,
    },
    new Date(),
  );
}

async function followUpBeforeClicks(store: Store, campaignId: string, grants: Grant[]): Promise<FollowUp> {
  const of = async (reviewer: string) => {
    const mine: string[] = [];
    for (const grant of grants) {
      if ((await store.grants.get(campaignId, grant.grantId))?.reviewer === reviewer)
        mine.push(grant.grantId);
    }
    return mine;
  };
  const [alice, bob, carol] = [await of('alice'), await of('bob'), await of('carol')];
  const pick = (list: string[], index: number) => {
    const grantId = list[index];
    if (!grantId) throw new Error('followUp needs more grants: raise size');
    return grantId;
  };
  const followUp: FollowUp = {
    delegated: pick(alice, 1),
    escalated: pick(carol, 0),
    bulk: pick(bob, 1),
    policy: pick(carol, 1),
  };
  const now = new Date();
  await store.events.append(
    campaignId,
    'reminder_sent',
    { reviewer: 'carol', number: 1, channel: 'slack', undecided: carol.length, sentAt: now.toISOString() },
    now,
  );
  await store.events.append(
    campaignId,
    'email_sent',
    { purpose: 'reminder', to: 1, reviewer: 'carol', messageId: null },
    now,
  );
  await handOver(store, campaignId, followUp.delegated, {
    taskReviewer: 'alice',
    to: 'bob',
    by: 'delegation',
    note: 'on leave; bob owns it now',
  });
  await handOver(store, campaignId, followUp.escalated, {
    taskReviewer: 'carol',
    to: 'alice',
    by: 'escalation',
    note: null,
  });
  await writeDecision(store, campaignId, followUp.delegated, {
    reviewer: 'alice',
    decidedBy: 'bob',
    slackUserId: slackIdOf('bob'),
  });
  await writeDecision(store, campaignId, followUp.escalated, {
    reviewer: 'carol',
    decidedBy: 'alice',
    slackUserId: slackIdOf('alice'),
  });
  await writeDecision(store, campaignId, followUp.bulk, {
    reviewer: 'bob',
    slackUserId: slackIdOf('bob'),
    bulk: true,
  });
  return followUp;
}

/** The end-of-window policy's keep of an undecided grant, as MarkUnresponsive writes it. */
async function policyKeep(store: Store, campaignId: string, grantId: string): Promise<void> {
  const at = new Date();
  await store.events.append(
    campaignId,
    'window_policy_applied',
    { grantId, reviewer: 'carol', grantKind: 'team_membership', policy: 'keep' },
    at,
  );
  await store.decisions.record({
    campaignId,
    grantId,
    decision: 'keep',
    reviewer: 'carol',
    decidedBySlackUserId: '',
    decidedAt: at.toISOString(),
    channel: 'policy',
  });
  const event = await store.events.append(
    campaignId,
    'decision_recorded',
    {
      grantId,
      decision: 'keep',
      reviewer: 'carol',
      decidedBySlackUserId: '',
      justification: null,
      channel: 'policy',
    },
    at,
  );
  await store.decisions.linkEvent(campaignId, grantId, event.seq);
}

export const SLACK_BOT_TOKEN = 'xoxb-tamper';

/** The Slack workspace workflowCampaign's reviewers are in. */
export function startReviewersSlack(): Promise<SlackSandbox> {
  return startSlackSandbox({
    users: WORKFLOW_REVIEWERS.map(({ login, slackUserId, email }) => ({
      id: slackUserId,
      name: login,
      email,
    })),
    botToken: SLACK_BOT_TOKEN,
  });
}
