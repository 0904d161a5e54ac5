/**
 * Which writes of one LMDB transaction are the newest of their key (kv_engine's checkpoint
 * de-duplication, done where the writes meet LMDB): an older write of a key that the same
 * transaction writes again would be put and replaced before anyone could read it, at the cost
 * of a B-tree descent, a seqno-index entry and its later removal. Readers see LMDB one
 * transaction at a time, so skipping it changes nothing they can see; a DCP backfill sends
 * each key once at its newest seqno either way.
 *
 * An open-addressing table of write numbers keyed by a hash of the key bytes, compared byte
 * for byte on a hash match: no object and no string per write. The keys are copied into a
 * buffer of the table's own: the apply thread reads each frame into one reused buffer
 * (frame-reader.ts), so an earlier frame's bytes are gone by the time later keys are compared
 * with its keys (compared there, a key could match the bytes that replaced another, and that
 * other key's newest write would be skipped).
 */

/** The key buffer's first size, and the largest kept from one transaction to the next. */
const KEY_BYTES_START = 1 << 20;
const KEY_BYTES_KEPT = 4 << 20;

export class NewestWrites {
  private slots = new Int32Array(1 << 16);
  /** Each write's key: where its copy starts in `keys`, and its length. */
  private keyAt = new Int32Array(1 << 15);
  private keyLength = new Int32Array(1 << 15);
  /** 1 where a write is the newest of its key, per write number. */
  newest = new Uint8Array(1 << 15);
  private keys = new Uint8Array(KEY_BYTES_START);
  private keyBytes = 0;
  /** The current frame's bytes. */
  private bytes: Uint8Array = new Uint8Array(0);
  private count = 0;
  private mask = 0;

  /** Starts a transaction of at most `writes` writes. */
  begin(writes: number): void {
    let size = this.slots.length;
    while (size < writes * 2) size *= 2;
    if (size !== this.slots.length) this.slots = new Int32Array(size);
    this.slots.fill(-1);
    this.mask = size - 1;
    if (this.newest.length < writes) {
      let n = this.newest.length;
      while (n < writes) n *= 2;
      this.keyAt = new Int32Array(n);
      this.keyLength = new Int32Array(n);
      this.newest = new Uint8Array(n);
    }
    if (this.keys.length > KEY_BYTES_KEPT) this.keys = new Uint8Array(KEY_BYTES_START);
    this.keyBytes = 0;
    this.count = 0;
  }

  /** The next frame's bytes; its writes follow. Read only until the next frame. */
  frame(bytes: Uint8Array): void {
    this.bytes = bytes;
  }

  /** The next write (in transaction order), its key at `at` in the current frame: it is the
   * newest of its key until a later one of the same key comes. */
  add(at: number, length: number): void {
    const i = this.count++;
    const bytes = this.bytes;
    if (this.keyBytes + length > this.keys.length) {
      let size = this.keys.length * 2;
      while (size < this.keyBytes + length) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.keys.subarray(0, this.keyBytes));
      this.keys = grown;
    }
    this.keys.set(bytes.subarray(at, at + length), this.keyBytes);
    this.keyAt[i] = this.keyBytes;
    this.keyBytes += length;
    this.keyLength[i] = length;
    this.newest[i] = 1;
    let h = 0x811c9dc5;
    for (let p = at; p < at + length; p++) h = Math.imul(h ^ bytes[p], 0x01000193);
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const j = this.slots[slot];
      if (j === -1) {
        this.slots[slot] = i;
        return;
      }
      if (this.sameKey(j, bytes, at, length)) {
        this.slots[slot] = i;
        this.newest[j] = 0;
        return;
      }
    }
  }

  private sameKey(j: number, bytes: Uint8Array, at: number, length: number): boolean {
    if (this.keyLength[j] !== length) return false;
    const keys = this.keys;
    const from = this.keyAt[j];
    for (let k = 0; k < length; k++) if (keys[from + k] !== bytes[at + k]) return false;
    return true;
  }
}
