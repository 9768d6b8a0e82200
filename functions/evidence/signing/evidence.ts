import { createHash, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseJsonRecord } from '../../core/records';
import { canonicalJson } from '../../store/events';
import type { Store } from '../../store/index';
import type { ChainSignature, SigningKeyRecord } from '../../store/signatures';
import { EvidenceFileWriter } from '../file-writer';
import { keyFingerprint } from './signer';

/** One JSON line per signature, in sequence order (canonical JSON: keys sorted, no whitespace). */
export const SIGNATURES_FILE = 'signatures.jsonl';
/** The public key(s) the signatures were made with, SubjectPublicKeyInfo PEM, one after another. */
export const SIGNING_KEY_FILE = 'signing-key.pem';
export const SIGNATURE_EVIDENCE_FILES = [SIGNATURES_FILE, SIGNING_KEY_FILE] as const;
export type SignatureEvidenceFile = (typeof SIGNATURE_EVIDENCE_FILES)[number];

/** A public key as the evidence folder carries it. */
export interface PublishedKey {
  /** SHA-256 (hex) of its SubjectPublicKeyInfo DER. */
  keySha256: string;
  publicKeyPem: string;
}

/** Where the signature files are written from: the table, or anything that pages the same records. */
export interface SignatureSource {
  /** The campaign's signatures in sequence order, a page at a time. */
  signatures(): AsyncIterable<ChainSignature[]>;
  publicKey(keyId: string): Promise<SigningKeyRecord | undefined>;
}

export function storeSignatureSource(store: Store, campaignId: string): SignatureSource {
  return {
    signatures: () => store.signatures.pages(campaignId),
    publicKey: (keyId) => store.signatures.publicKey(keyId),
  };
}

function isSignatureSource(from: Store | SignatureSource): from is SignatureSource {
  return typeof (from as SignatureSource).publicKey === 'function';
}

/**
 * Writes signatures.jsonl and signing-key.pem into `outDir` (both always written; empty when the
 * campaign has no signature) and returns each file's SHA-256 and size for the manifest. A signing
 * key the table no longer holds is left out of signing-key.pem, which verification then reports.
 */
export async function writeSignatureFiles(
  from: Store | SignatureSource,
  campaignId: string,
  outDir: string,
): Promise<Array<{ name: SignatureEvidenceFile; sha256: string; bytes: number }>> {
  const source = isSignatureSource(from) ? from : storeSignatureSource(from, campaignId);
  const lines = EvidenceFileWriter.text(join(outDir, SIGNATURES_FILE));
  const keyIds: string[] = [];
  for await (const page of source.signatures()) {
    for (const signature of page) {
      if (!keyIds.includes(signature.keyId)) keyIds.push(signature.keyId);
      await lines.write(`${canonicalJson(signature)}\n`);
    }
  }
  const signaturesFile = await lines.close();
  const pem = EvidenceFileWriter.text(join(outDir, SIGNING_KEY_FILE));
  const written = new Set<string>();
  for (const keyId of keyIds) {
    const key = await source.publicKey(keyId);
    if (!key || written.has(key.keySha256)) continue;
    written.add(key.keySha256);
    await pem.write(key.publicKeyPem.endsWith('\n') ? key.publicKeyPem : `${key.publicKeyPem}\n`);
  }
  const keyFile = await pem.close();
  return [
    { name: SIGNATURES_FILE, ...signaturesFile },
    { name: SIGNING_KEY_FILE, ...keyFile },
  ];
}

/** What a folder's signature files hold, and what could not be read from them. */
export interface SignatureFiles {
  signatures: ChainSignature[];
  keys: PublishedKey[];
  /** Missing files, lines that are not signatures, blocks that are not keys. */
  findings: string[];
  /** SHA-256 and size of each file read (for the manifest check); absent when the file is missing. */
  files: Partial<Record<SignatureEvidenceFile, { sha256: string; bytes: number }>>;
}

/**
 * Reads the two files from `dir` (those names only, never a path from the folder's contents). A
 * missing or unreadable file is a finding, never a thrown error.
 */
export async function readSignatureFiles(dir: string): Promise<SignatureFiles> {
  const result: SignatureFiles = { signatures: [], keys: [], findings: [], files: {} };
  const read = async (name: SignatureEvidenceFile): Promise<string | undefined> => {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, name));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      result.findings.push(
        code === 'ENOENT'
          ? `${name} is missing: nothing outside the table anchors the chain`
          : `${name} cannot be read (${code ?? 'error'})`,
      );
      return undefined;
    }
    result.files[name] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
    return bytes.toString('utf8');
  };
  const lines = await read(SIGNATURES_FILE);
  if (lines !== undefined) {
    const parsed = parseSignatureLines(lines);
    result.signatures = parsed.signatures;
    result.findings.push(...parsed.findings);
  }
  const pem = await read(SIGNING_KEY_FILE);
  if (pem !== undefined) {
    const parsed = parsePublicKeys(pem);
    result.keys = parsed.keys;
    result.findings.push(...parsed.findings);
  }
  return result;
}

const SIGNATURE_STRINGS = [
  'campaignId',
  'hash',
  'keyId',
  'keySha256',
  'algorithm',
  'signature',
  'signedAt',
] as const;

/** signatures.jsonl's text: each line a signature, or a finding naming the line. */
export function parseSignatureLines(text: string): { signatures: ChainSignature[]; findings: string[] } {
  const signatures: ChainSignature[] = [];
  const findings: string[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, index) => {
    const where = `${SIGNATURES_FILE} line ${index + 1}`;
    let value: unknown;
    try {
      value = parseJsonRecord(line, where);
    } catch {
      findings.push(`${where} is not a JSON object`);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      findings.push(`${where} is not a JSON object`);
      return;
    }
    const record = value as Record<string, unknown>;
    const bad: string[] = SIGNATURE_STRINGS.filter((field) => typeof record[field] !== 'string');
    if (!Number.isSafeInteger(record.seq) || (record.seq as number) < 1) bad.push('seq');
    if (bad.length > 0) {
      findings.push(`${where}: ${bad.join(', ')} missing or malformed`);
      return;
    }
    const signature = Object.fromEntries(
      [...SIGNATURE_STRINGS, 'seq'].map((field) => [field, record[field]]),
    ) as unknown as ChainSignature;
    signatures.push(signature);
  });
  return { signatures, findings };
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g;

/** signing-key.pem's text: each PEM block a public key; anything else is a finding. */
export function parsePublicKeys(text: string): { keys: PublishedKey[]; findings: string[] } {
  const keys: PublishedKey[] = [];
  const findings: string[] = [];
  const blocks = [...text.matchAll(PEM_BLOCK)];
  const rest = text.replace(PEM_BLOCK, '').trim();
  if (rest !== '') findings.push(`${SIGNING_KEY_FILE} holds text outside its PEM blocks`);
  blocks.forEach((block, index) => {
    const where = `${SIGNING_KEY_FILE} block ${index + 1}`;
    if (block[1] !== 'PUBLIC KEY') {
      findings.push(`${where} is a ${block[1]}, not a PUBLIC KEY`);
      return;
    }
    try {
      const key = createPublicKey(block[0]);
      keys.push({ keySha256: keyFingerprint(key), publicKeyPem: `${block[0]}\n` });
    } catch {
      findings.push(`${where} is not a readable public key`);
    }
  });
  return { keys, findings };
}

/** The sequence numbers verification must keep the chain's hash for while it streams events.jsonl. */
export function signedSeqs(signatures: readonly ChainSignature[]): Set<number> {
  return new Set(signatures.map((signature) => signature.seq));
}
