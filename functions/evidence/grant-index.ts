import { createHash } from 'node:crypto';

const TOOL_GRANT_ID = /^g_[0-9a-f]{32}$/;
const KEY_WORDS = 4;

/**
 * Grant id → a few numbers, for verify-evidence's joins of the chain against the CSV files, in
 * typed arrays rather than a Map of strings: 16 bytes of key (the 128 bits of a `g_<hex>` id, or
 * of SHA-256 of any other id), `width` 32-bit words of payload and 4 bytes of order per entry, so
 * 1 million decisions with a 6-word payload take about 44 MB. Entries are added in chain order;
 * after `seal()` the latest entry of each grant is the one found, as a Map overwritten in chain
 * order would have kept.
 */
export class GrantIndex {
  private keys = new Uint32Array(1024 * KEY_WORDS);
  private payload: Uint32Array;
  private claimedFlags = new Uint8Array(1024);
  private count = 0;
  /** Entry numbers sorted by key, then by entry number (chain order); built by seal(). */
  private order = new Uint32Array(0);
  private sealed = false;
  /** Ids that are not the tool's own `g_<hex>`, by their hashed key: rare, kept as text. */
  private readonly otherIds = new Map<string, string>();

  constructor(private readonly width: number) {
    this.payload = new Uint32Array(1024 * width);
  }

  get size(): number {
    return this.count;
  }

  add(grantId: string, values: readonly number[]): void {
    if (this.sealed) throw new Error('GrantIndex: add after seal');
    if (this.count * KEY_WORDS === this.keys.length) this.grow();
    this.keys.set(this.keyOf(grantId), this.count * KEY_WORDS);
    this.payload.set(values, this.count * this.width);
    this.count++;
  }

  seal(): void {
    this.sealed = true;
    const order = new Uint32Array(this.count);
    for (let index = 0; index < this.count; index++) order[index] = index;
    order.sort((a, b) => this.compareEntries(a, b));
    this.order = order;
  }

  /** The latest entry for the grant: its number (for claim / payloadOf), or -1. */
  find(grantId: string): number {
    const key = this.keyOf(grantId);
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    // The last position whose key equals: the latest entry of the grant.
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const entry = this.order[middle] as number;
      const comparison = this.compareKey(entry, key);
      if (comparison <= 0) {
        if (comparison === 0) found = entry;
        low = middle + 1;
      } else high = middle - 1;
    }
    return found;
  }

  /** Every entry of the grant, in chain order (a grant handed over twice has two). */
  entriesOf(grantId: string): number[] {
    const key = this.keyOf(grantId);
    let low = 0;
    let high = this.count;
    // The first position whose key is not below the grant's.
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.compareKey(this.order[middle] as number, key) < 0) low = middle + 1;
      else high = middle;
    }
    const entries: number[] = [];
    for (let position = low; position < this.count; position++) {
      const entry = this.order[position] as number;
      if (this.compareKey(entry, key) !== 0) break;
      entries.push(entry);
    }
    return entries;
  }

  payloadOf(entry: number): Uint32Array {
    return this.payload.subarray(entry * this.width, (entry + 1) * this.width);
  }

  /** Marks an entry (`bit` 1: a row of its own file claimed it; others: other joins). */
  claim(entry: number, bit = 1): void {
    this.claimedFlags[entry] = (this.claimedFlags[entry] as number) | bit;
  }

  isClaimed(entry: number, bit = 1): boolean {
    return ((this.claimedFlags[entry] as number) & bit) !== 0;
  }

  /** Grants with more than one entry, in key order, each with its entries in chain order. */
  *duplicates(): Generator<{ grantId: string; entries: number[] }> {
    let position = 0;
    while (position < this.count) {
      const first = this.order[position] as number;
      let end = position + 1;
      while (end < this.count && this.compareEntryKeys(first, this.order[end] as number) === 0) end++;
      if (end - position > 1) {
        yield { grantId: this.idOf(first), entries: [...this.order.subarray(position, end)] };
      }
      position = end;
    }
  }

  /** The latest entry of every grant, in key order, with whether a row claimed it. */
  *latest(): Generator<{ entry: number; grantId: string; claimed: boolean }> {
    for (let position = 0; position < this.count; position++) {
      const entry = this.order[position] as number;
      const next = this.order[position + 1];
      if (next !== undefined && this.compareEntryKeys(entry, next) === 0) continue;
      yield { entry, grantId: this.idOf(entry), claimed: this.isClaimed(entry) };
    }
  }

  private grow(): void {
    const grow = <T extends Uint32Array | Uint8Array>(array: T, make: (length: number) => T): T => {
      const bigger = make(array.length * 2);
      bigger.set(array);
      return bigger;
    };
    this.keys = grow(this.keys, (n) => new Uint32Array(n));
    this.payload = grow(this.payload, (n) => new Uint32Array(n));
    this.claimedFlags = grow(this.claimedFlags, (n) => new Uint8Array(n));
  }

  private keyOf(grantId: string): number[] {
    if (TOOL_GRANT_ID.test(grantId)) {
      return [0, 1, 2, 3].map((word) => Number.parseInt(grantId.slice(2 + word * 8, 10 + word * 8), 16));
    }
    const digest = createHash('sha256').update(grantId).digest();
    const key = [0, 1, 2, 3].map((word) => digest.readUInt32BE(word * 4));
    this.otherIds.set(key.join(':'), grantId);
    return key;
  }

  private idOf(entry: number): string {
    const key = [...this.keys.subarray(entry * KEY_WORDS, (entry + 1) * KEY_WORDS)];
    return (
      this.otherIds.get(key.join(':')) ??
      `g_${key.map((word) => word.toString(16).padStart(8, '0')).join('')}`
    );
  }

  private compareKey(entry: number, key: readonly number[]): number {
    for (let word = 0; word < KEY_WORDS; word++) {
      const difference = (this.keys[entry * KEY_WORDS + word] as number) - (key[word] as number);
      if (difference !== 0) return difference;
    }
    return 0;
  }

  private compareEntryKeys(a: number, b: number): number {
    for (let word = 0; word < KEY_WORDS; word++) {
      const difference =
        (this.keys[a * KEY_WORDS + word] as number) - (this.keys[b * KEY_WORDS + word] as number);
      if (difference !== 0) return difference;
    }
    return 0;
  }

  private compareEntries(a: number, b: number): number {
    return this.compareEntryKeys(a, b) || a - b;
  }
}
