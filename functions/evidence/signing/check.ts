import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { AccessReviewError } from '../../core/errors';
import type { ChainSignature } from '../../store/signatures';
import { type PublishedKey, SIGNATURES_FILE, SIGNING_KEY_FILE } from './evidence';
import { keyFingerprint } from './signer';
import { CHAIN_SIGNING_ALGORITHM, chainHeadStatement } from './statement';

/** A key the auditor brings (`verify-evidence --public-key FILE` or `--key-fingerprint HEX`). */
export interface PinnedKey {
  /** SPKI PEM of the expected key. */
  publicKeyPem?: string;
  /** SHA-256 (hex; colons and case ignored) of the expected key's SubjectPublicKeyInfo DER. */
  keySha256?: string;
}

export interface ChainAnchorInput {
  campaignId: string;
  signatures: readonly ChainSignature[];
  keys: readonly PublishedKey[];
  /** The chain's hash (as recomputed) at each signed seq the chain has; see signedSeqs(). */
  chainHashes: ReadonlyMap<number, string>;
  /** The chain's last event as recomputed; null for an empty chain. */
  chainEnd: { seq: number; hash: string } | null;
  pin?: PinnedKey;
}

export interface ChainAnchorCheck {
  findings: string[];
  /** Every key a verified signature was made with: without a pin, what the auditor must compare with KMS. */
  trustedKeys: Array<{ keyId: string; keySha256: string }>;
  /** True when the keys were checked against a pinned key, false when the folder's own key was trusted. */
  pinned: boolean;
  /** The last seq a valid signature anchors (null when none does). */
  anchoredThrough: number | null;
  /** What an auditor should know that is not a finding (the fingerprint trusted, when not pinned). */
  notes: string[];
}

/** The auditor's pin cannot be read (a file that is not a public key, a fingerprint that is not 64 hex digits). */
export class PinnedKeyError extends AccessReviewError {}

/** A pin as given on the command line, as the hex fingerprint it stands for. */
export function pinnedFingerprint(pin: PinnedKey): string {
  if (pin.publicKeyPem !== undefined) {
    try {
      return keyFingerprint(pin.publicKeyPem);
    } catch (error) {
      throw new PinnedKeyError('the pinned public key is not a readable PEM public key', { cause: error });
    }
  }
  const hex = (pin.keySha256 ?? '').replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new PinnedKeyError('a key fingerprint is the SHA-256 of the key, 64 hex digits');
  }
  return hex;
}

/**
 * Checks the anchor: every signature verifies with a key the folder carries (and the pinned one,
 * if any) over the statement for its seq and the hash the chain has there, and the chain's last
 * event is signed. Deleting signatures cannot hide a rewrite: the rewritten chain's last event
 * would need a signature only the key can make. Never throws on what the folder holds (a bad pin
 * throws PinnedKeyError: the auditor's input, not the evidence).
 */
export function checkChainAnchor(input: ChainAnchorInput): ChainAnchorCheck {
  const { campaignId, signatures, chainHashes, chainEnd } = input;
  const findings: string[] = [];
  const notes: string[] = [];
  const pin = input.pin ? pinnedFingerprint(input.pin) : undefined;
  const keys = new Map<string, KeyObject>();
  for (const key of input.keys) keys.set(key.keySha256, createPublicKey(key.publicKeyPem));
  const trusted = new Map<string, { keyId: string; keySha256: string }>();
  const verified = new Set<number>();
  let previous = 0;

  if (signatures.length === 0) {
    findings.push(`${SIGNATURES_FILE} has no signature: nothing outside the table anchors the chain`);
  }
  for (const signature of signatures) {
    const { seq } = signature;
    const at = `${SIGNATURES_FILE} seq ${seq}`;
    if (seq <= previous) findings.push(`${at} is out of order or repeated (after seq ${previous})`);
    previous = Math.max(previous, seq);
    if (signature.campaignId !== campaignId) {
      findings.push(`${at} is for campaign ${JSON.stringify(signature.campaignId)}, not ${campaignId}`);
      continue;
    }
    if (signature.algorithm !== CHAIN_SIGNING_ALGORITHM) {
      findings.push(
        `${at} uses ${JSON.stringify(signature.algorithm)}; only ${CHAIN_SIGNING_ALGORITHM} is accepted`,
      );
      continue;
    }
    const key = keys.get(signature.keySha256);
    if (!key) {
      findings.push(
        `${at} was signed with key ${signature.keyId} (sha256 ${signature.keySha256}), which ${SIGNING_KEY_FILE} does not carry`,
      );
      continue;
    }
    if (signature.keyId.startsWith('local:') && signature.keyId !== `local:${signature.keySha256}`) {
      findings.push(
        `${at}: key id ${signature.keyId} does not name the key it was signed with (sha256 ${signature.keySha256})`,
      );
      continue;
    }
    if (pin !== undefined && signature.keySha256 !== pin) {
      findings.push(`${at} was signed with key sha256 ${signature.keySha256}, not the pinned key ${pin}`);
      continue;
    }
    let statement: Buffer;
    try {
      statement = chainHeadStatement(campaignId, seq, signature.hash);
    } catch (error) {
      findings.push(`${at}: ${(error as Error).message}`);
      continue;
    }
    let valid = false;
    try {
      valid = verify('sha256', statement, key, Buffer.from(signature.signature, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid) {
      findings.push(`${at}: the signature does not verify with key ${signature.keyId}`);
      continue;
    }
    const chainHash = chainHashes.get(seq);
    if (chainHash === undefined) {
      findings.push(
        chainEnd && seq > chainEnd.seq
          ? `${at} is signed, but the chain ends at seq ${chainEnd.seq}: signed events were removed`
          : `${at} is signed, but the chain has no event ${seq}`,
      );
      continue;
    }
    if (chainHash !== signature.hash) {
      findings.push(
        `${at}: the chain's hash there is ${chainHash}, the signed one ${signature.hash}: the chain was rewritten at or before seq ${seq}`,
      );
      continue;
    }
    verified.add(seq);
    trusted.set(signature.keySha256, { keyId: signature.keyId, keySha256: signature.keySha256 });
  }

  const anchoredThrough = verified.size > 0 ? Math.max(...verified) : null;
  if (chainEnd && !verified.has(chainEnd.seq) && signatures.length > 0) {
    findings.push(
      `the chain's last event (seq ${chainEnd.seq}) has no valid signature: events after seq ${anchoredThrough ?? 0} are not anchored`,
    );
  }
  const trustedKeys = [...trusted.values()];
  if (pin === undefined && trustedKeys.length > 0) {
    for (const key of trustedKeys) {
      notes.push(
        `signatures verified with the key in ${SIGNING_KEY_FILE} (sha256 ${key.keySha256}, key id ${key.keyId}); whoever can write this folder can replace that key: compare the fingerprint with \`aws kms get-public-key\` or pin it (--public-key FILE, --key-fingerprint HEX)`,
      );
    }
  }
  return { findings, trustedKeys, pinned: pin !== undefined, anchoredThrough, notes };
}
