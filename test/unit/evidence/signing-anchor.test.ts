import { execFileSync } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkChainAnchor,
  PinnedKeyError,
  pinnedFingerprint,
} from '../../../functions/evidence/signing/check';
import {
  parsePublicKeys,
  parseSignatureLines,
  readSignatureFiles,
  SIGNATURES_FILE,
  SIGNING_KEY_FILE,
  signedSeqs,
  writeSignatureFiles,
} from '../../../functions/evidence/signing/evidence';
import { LOCAL_SIGNING_KEY_FILE, localSigner } from '../../../functions/evidence/signing/local';
import { type ChainSigner, keyFingerprint } from '../../../functions/evidence/signing/signer';
import { ChainStatementError, chainHeadStatement } from '../../../functions/evidence/signing/statement';
import { type CampaignEvent, canonicalJson } from '../../../functions/store/events';
import type { Store } from '../../../functions/store/index';
import { type ChainSignature, ChainSignatureConflictError } from '../../../functions/store/signatures';
import type { LocalDynamo } from '../../../lib/local/dynamo';
import { createTestCampaign, startTestStore } from '../../support/local-store';

let dir: string;
let dynamo: LocalDynamo;
let store: Store;
let signer: ChainSigner;
let other: ChainSigner;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'anchor-'));
  ({ dynamo, store } = await startTestStore('signing-anchor'));
  signer = await localSigner(join(dir, 'data'));
  other = await localSigner(join(dir, 'other'));
});
afterAll(async () => {
  await dynamo?.close();
  await rm(dir, { recursive: true, force: true });
});

async function chainOf(campaignId: string, length: number): Promise<CampaignEvent[]> {
  await createTestCampaign(store, campaignId, 'snapshotting');
  const events: CampaignEvent[] = [];
  for (let i = 0; i < length; i++) {
    events.push(await store.events.append(campaignId, 'campaign_started', { i }, new Date()));
  }
  return events;
}

function hashes(events: readonly CampaignEvent[]): Map<number, string> {
  return new Map(events.map((event) => [event.seq, event.hash]));
}

function end(events: readonly CampaignEvent[]) {
  const last = events.at(-1);
  return last ? { seq: last.seq, hash: last.hash } : null;
}

async function signAll(events: readonly CampaignEvent[], by = signer): Promise<ChainSignature[]> {
  const signed: ChainSignature[] = [];
  for (const event of events) signed.push((await store.signatures.sign(event, by, new Date())).signature);
  return signed;
}

async function exported(campaignId: string) {
  const out = await mkdtemp(join(dir, 'evidence-'));
  const files = await writeSignatureFiles(store, campaignId, out);
  return { out, files, read: await readSignatureFiles(out) };
}

describe('the signed statement', () => {
  it('is the fixed text an auditor rebuilds with printf', () => {
    const hash = 'a'.repeat(64);
    expect(chainHeadStatement('c-1', 12, hash).toString('utf8')).toBe(
      `access-review chain head v1\nc-1\n12\n${hash}`,
    );
  });

  it.each([
    ['a campaign id with a newline', 'c\n2', 1, 'a'.repeat(64)],
    ['seq 0', 'c', 0, 'a'.repeat(64)],
    ['an upper-case hash', 'c', 1, 'A'.repeat(64)],
    ['a short hash', 'c', 1, 'a'.repeat(63)],
  ])('refuses %s', (_name, campaignId, seq, hash) => {
    expect(() => chainHeadStatement(campaignId, seq, hash)).toThrow(ChainStatementError);
  });
});

describe('the local signer', () => {
  it('keeps one key per data directory, owner-readable only, named by its fingerprint', async () => {
    const again = await localSigner(join(dir, 'data'));
    expect(again.keyId).toBe(signer.keyId);
    expect(signer.keyId).toBe(`local:${keyFingerprint(await signer.publicKeyPem())}`);
    expect(other.keyId).not.toBe(signer.keyId);
    expect((await stat(join(dir, 'data', LOCAL_SIGNING_KEY_FILE))).mode & 0o777).toBe(0o600);
  });

  it('signs DER that node:crypto and openssl verify against the SPKI PEM', async () => {
    const statement = chainHeadStatement('c-openssl', 3, 'b'.repeat(64));
    const signature = await signer.sign(statement);
    const pem = await signer.publicKeyPem();
    expect(verify('sha256', statement, createPublicKey(pem), Buffer.from(signature, 'base64'))).toBe(true);
    const work = await mkdtemp(join(dir, 'openssl-'));
    await writeFile(join(work, 'statement'), statement);
    await writeFile(join(work, 'signature.der'), Buffer.from(signature, 'base64'));
    await writeFile(join(work, 'key.pem'), pem);
    const answer = execFileSync(
      'openssl',
      ['dgst', '-sha256', '-verify', 'key.pem', '-signature', 'signature.der', 'statement'],
      { cwd: work, encoding: 'utf8' },
    );
    expect(answer.trim()).toBe('Verified OK');
  });
});

describe('signatures in the table', () => {
  it('writes one signature per seq; signing the same head again keeps the first', async () => {
    const [event] = await chainOf('c-once', 1);
    const first = await store.signatures.sign(event!, signer, new Date());
    const second = await store.signatures.sign(event!, signer, new Date());
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.signature.signature).toBe(first.signature.signature);
    expect((await store.signatures.publicKey(signer.keyId))?.publicKeyPem).toBe(await signer.publicKeyPem());
  });

  it('refuses to sign a seq already signed with another hash', async () => {
    const [event] = await chainOf('c-conflict', 1);
    await store.signatures.sign(event!, signer, new Date());
    await expect(
      store.signatures.sign({ ...event!, hash: 'c'.repeat(64) }, signer, new Date()),
    ).rejects.toThrow(ChainSignatureConflictError);
  });
});

describe('the evidence files and the check', () => {
  it('verifies an intact, fully signed chain and names the fingerprint it trusted', async () => {
    const events = await chainOf('c-good', 3);
    await signAll(events);
    const { files, read, out } = await exported('c-good');
    expect(read.findings).toEqual([]);
    expect(files.map((file) => file.name)).toEqual([SIGNATURES_FILE, SIGNING_KEY_FILE]);
    const lines = (await readFile(join(out, SIGNATURES_FILE), 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).seq)).toEqual([1, 2, 3]);
    expect(lines[0]).toBe(canonicalJson(JSON.parse(lines[0]!)));
    expect(signedSeqs(read.signatures)).toEqual(new Set([1, 2, 3]));
    const check = checkChainAnchor({
      campaignId: 'c-good',
      signatures: read.signatures,
      keys: read.keys,
      chainHashes: hashes(events),
      chainEnd: end(events),
    });
    const fingerprint = keyFingerprint(await signer.publicKeyPem());
    expect(check.findings).toEqual([]);
    expect(check.anchoredThrough).toBe(3);
    expect(check.pinned).toBe(false);
    expect(check.trustedKeys).toEqual([{ keyId: signer.keyId, keySha256: fingerprint }]);
    expect(check.notes.join('\n')).toContain(fingerprint);
  });

  it('finds a rewritten chain: the hash at a signed seq differs', async () => {
    const events = await chainOf('c-rewritten', 2);
    await signAll(events);
    const { read } = await exported('c-rewritten');
    const rewritten = new Map([
      [1, events[0]!.hash],
      [2, 'd'.repeat(64)],
    ]);
    const check = checkChainAnchor({
      campaignId: 'c-rewritten',
      signatures: read.signatures,
      keys: read.keys,
      chainHashes: rewritten,
      chainEnd: { seq: 2, hash: 'd'.repeat(64) },
    });
    expect(check.findings.some((f) => f.includes('seq 2') && f.includes('rewritten'))).toBe(true);
    expect(check.findings.some((f) => f.includes('not anchored'))).toBe(true);
  });

  it('finds events after the last signature', async () => {
    const events = await chainOf('c-unsigned-tail', 3);
    await signAll(events.slice(0, 2));
    const { read } = await exported('c-unsigned-tail');
    const check = checkChainAnchor({
      campaignId: 'c-unsigned-tail',
      signatures: read.signatures,
      keys: read.keys,
      chainHashes: hashes(events),
      chainEnd: end(events),
    });
    expect(check.findings).toEqual([
      "the chain's last event (seq 3) has no valid signature: events after seq 2 are not anchored",
    ]);
  });

  it('finds a truncated chain (signed events removed)', async () => {
    const events = await chainOf('c-truncated', 3);
    await signAll(events);
    const { read } = await exported('c-truncated');
    const kept = events.slice(0, 2);
    const check = checkChainAnchor({
      campaignId: 'c-truncated',
      signatures: read.signatures,
      keys: read.keys,
      chainHashes: hashes(kept),
      chainEnd: end(kept),
    });
    expect(check.findings).toEqual([
      `${SIGNATURES_FILE} seq 3 is signed, but the chain ends at seq 2: signed events were removed`,
    ]);
  });

  it('finds no signatures at all, and missing files', async () => {
    const events = await chainOf('c-unsigned', 1);
    const { read, out } = await exported('c-unsigned');
    expect(read.signatures).toEqual([]);
    const check = checkChainAnchor({
      campaignId: 'c-unsigned',
      signatures: [],
      keys: [],
      chainHashes: hashes(events),
      chainEnd: end(events),
    });
    expect(check.findings).toEqual([
      `${SIGNATURES_FILE} has no signature: nothing outside the table anchors the chain`,
    ]);
    await rm(join(out, SIGNATURES_FILE));
    expect((await readSignatureFiles(out)).findings).toEqual([
      `${SIGNATURES_FILE} is missing: nothing outside the table anchors the chain`,
    ]);
  });

  it('finds a forged signature, a swapped key, a wrong key id, another campaign', async () => {
    const events = await chainOf('c-forged', 2);
    const signed = await signAll(events);
    const { read } = await exported('c-forged');
    const base = {
      campaignId: 'c-forged',
      keys: read.keys,
      chainHashes: hashes(events),
      chainEnd: end(events),
    };
    const forged = [
      signed[0]!,
      { ...signed[1]!, signature: await other.sign(chainHeadStatement('c-forged', 2, events[1]!.hash)) },
    ];
    expect(checkChainAnchor({ ...base, signatures: forged }).findings[0]).toBe(
      `${SIGNATURES_FILE} seq 2: the signature does not verify with key ${signer.keyId}`,
    );
    // Someone who can write the folder re-signs with their own key and swaps signing-key.pem.
    const swapped = parsePublicKeys(await other.publicKeyPem()).keys;
    expect(checkChainAnchor({ ...base, keys: swapped, signatures: signed }).findings[0]).toContain(
      'which signing-key.pem does not carry',
    );
    const renamed = signed.map((s) => ({ ...s, keyId: `local:${'e'.repeat(64)}` }));
    expect(checkChainAnchor({ ...base, signatures: renamed }).findings[0]).toContain('does not name the key');
    const elsewhere = checkChainAnchor({ ...base, campaignId: 'c-other', signatures: signed });
    expect(elsewhere.findings[0]).toContain('is for campaign "c-forged", not c-other');
  });

  it('holds the keys to a pin: the folder’s own key is not enough', async () => {
    const events = await chainOf('c-pinned', 1);
    await signAll(events, other);
    const { read } = await exported('c-pinned');
    const input = {
      campaignId: 'c-pinned',
      signatures: read.signatures,
      keys: read.keys,
      chainHashes: hashes(events),
      chainEnd: end(events),
    };
    const rightPem = checkChainAnchor({ ...input, pin: { publicKeyPem: await other.publicKeyPem() } });
    expect(rightPem).toMatchObject({ findings: [], pinned: true, notes: [] });
    const fingerprint = keyFingerprint(await other.publicKeyPem());
    const colons = fingerprint.toUpperCase().match(/../g)!.join(':');
    expect(checkChainAnchor({ ...input, pin: { keySha256: colons } }).findings).toEqual([]);
    const wrong = checkChainAnchor({ ...input, pin: { publicKeyPem: await signer.publicKeyPem() } });
    expect(wrong.findings[0]).toBe(
      `${SIGNATURES_FILE} seq 1 was signed with key sha256 ${fingerprint}, not the pinned key ${keyFingerprint(await signer.publicKeyPem())}`,
    );
    expect(() => pinnedFingerprint({ keySha256: 'abc' })).toThrow(PinnedKeyError);
    expect(() => pinnedFingerprint({ publicKeyPem: 'not a key' })).toThrow(PinnedKeyError);
  });

  it('reports malformed files line by line, never throwing', () => {
    const lines = parseSignatureLines('{"seq":1}\nnot json\n{"__proto__":{}}\n[]\n');
    expect(lines.signatures).toEqual([]);
    expect(lines.findings).toEqual([
      `${SIGNATURES_FILE} line 1: campaignId, hash, keyId, keySha256, algorithm, signature, signedAt missing or malformed`,
      `${SIGNATURES_FILE} line 2 is not a JSON object`,
      `${SIGNATURES_FILE} line 3 is not a JSON object`,
      `${SIGNATURES_FILE} line 4 is not a JSON object`,
    ]);
    const keys = parsePublicKeys(
      'junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n',
    );
    expect(keys.keys).toEqual([]);
    expect(keys.findings).toEqual([
      `${SIGNING_KEY_FILE} holds text outside its PEM blocks`,
      `${SIGNING_KEY_FILE} block 1 is a PRIVATE KEY, not a PUBLIC KEY`,
      `${SIGNING_KEY_FILE} block 2 is not a readable public key`,
    ]);
  });
});
