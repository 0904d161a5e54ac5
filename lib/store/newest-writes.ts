/**
 * Which writes of one LMDB transaction are the newest of their key (kv_engine's checkpoint
 * de-duplication, done where the writes meet LMDB): an older write of a key that the same
 * transaction writes again would be put and replaced before anyone could read it, at the cost
 * of a B-tree descent, a seqno-index entry and its later removal. Readers see LMDB one
 * transaction at a time, so skipping it changes nothing they can see; a DCP backfill sends
 * each key once at its newest seqno either way.
 *
 * An open-addressing table of write numbers keyed by a hash of the key bytes, compared byte
 * for byte on a hash match: no object and no string per write.
 */

export class NewestWrites {
  private slots = new Int32Array(1 << 16);
  private frameOf = new Int32Array(1 << 15);
  private keyAt = new Int32Array(1 << 15);
  private keyLength = new Int32Array(1 << 15);
  /** 1 where a write is the newest of its key, per write number. */
  newest = new Uint8Array(1 << 15);
  private frames: Uint8Array[] = [];
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
      this.frameOf = new Int32Array(n);
      this.keyAt = new Int32Array(n);
      this.keyLength = new Int32Array(n);
      this.newest = new Uint8Array(n);
    }
    this.frames.length = 0;
    this.count = 0;
  }

  /** The next frame's bytes; its writes follow. */
  frame(bytes: Uint8Array): void {
    this.frames.push(bytes);
  }

  /** The next write (in transaction order), its key at `at` in the current frame: it is the
   * newest of its key until a later one of the same key comes. */
  add(at: number, length: number): void {
    const i = this.count++;
    const f = this.frames.length - 1;
    const bytes = this.frames[f];
    this.frameOf[i] = f;
    this.keyAt[i] = at;
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
    const other = this.frames[this.frameOf[j]];
    const from = this.keyAt[j];
    for (let k = 0; k < length; k++) if (other[from + k] !== bytes[at + k]) return false;
    return true;
  }
}
