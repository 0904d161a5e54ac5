/**
 * The resident table's keys too long for a bucket (bucket-table.ts), as bytes in a key arena
 * (record-arena.ts, classes 8 bytes apart): a key is named by its chunk's address in ALIGN
 * units, an int32 its bucket holds. As strings in a Map they cost about 110 bytes each beyond
 * their length, a string built per new key, and every full GC marked a million of them.
 */
import { equalWords, keyView } from '../../protocol/bytes.js';
import { ALIGN, KEY_CLASSES, MAX_ARENA_BYTES, PAGE_SIZE, RecordArena } from './record-arena.js';

export class LongKeys {
  private readonly arena: RecordArena;
  /** Room to turn a string key into bytes (a request's key length is 16 bits, plus the
   * vBucket's 2 bytes). */
  private readonly scratch = Buffer.allocUnsafe(65544);

  /** `maxBytes`: smaller than the default only in tests that fill the arena. */
  constructor(private readonly maxBytes = MAX_ARENA_BYTES) {
    this.arena = new RecordArena(maxBytes, KEY_CLASSES);
  }

  /** Whether the next key is certain to fit: the arena may still add a page. */
  get hasRoom(): boolean {
    return this.arena.pageBytes + PAGE_SIZE <= this.maxBytes;
  }

  /** Bytes of the arena's pages. */
  get bytes(): number {
    return this.arena.pageBytes;
  }

  /** Keeps `buf[offset, +length)`: its address. */
  store(buf: Uint8Array, offset: number, length: number): number {
    const chunk = this.arena.store(buf, offset, length);
    if (chunk < 0) throw new RangeError('resident table: key arena full');
    return chunk / ALIGN;
  }

  /** Keeps a latin1 string key: its address. */
  storeString(key: string): number {
    this.scratch.write(key, 0, 'latin1');
    return this.store(this.scratch, 0, key.length);
  }

  release(addr: number, length: number): void {
    this.arena.release(addr * ALIGN, length);
  }

  /** Whether the key at `addr` (of the same length) is `buf[offset, +length)`. */
  equals(addr: number, buf: Uint8Array, offset: number, length: number): boolean {
    const chunk = addr * ALIGN;
    return equalWords(this.arena.pageData(chunk), chunk % PAGE_SIZE, keyView(buf), buf.byteOffset + offset, length);
  }

  /** `equals` for the item key of vBucket `vbid` and the client key `buf[offset, +length)`
   * (key-codec.ts), not built. */
  equalsItemKey(addr: number, vbid: number, buf: Uint8Array, offset: number, length: number): boolean {
    const chunk = addr * ALIGN;
    const kd = this.arena.pageData(chunk);
    const base = chunk % PAGE_SIZE;
    if (kd.getUint16(base) !== vbid) return false;
    return equalWords(kd, base + 2, keyView(buf), buf.byteOffset + offset, length);
  }

  /** Whether the key at `addr` starts with the latin1 string `s` (or is it, at its length). */
  startsWith(addr: number, s: string): boolean {
    const chunk = addr * ALIGN;
    const page = this.arena.page(chunk);
    const base = chunk % PAGE_SIZE;
    for (let i = 0; i < s.length; i++) if (page[base + i] !== s.charCodeAt(i)) return false;
    return true;
  }

  copy(addr: number, length: number, dst: Uint8Array, at: number): void {
    const chunk = addr * ALIGN;
    const page = this.arena.page(chunk);
    const base = chunk % PAGE_SIZE;
    dst.set(page.subarray(base, base + length), at);
  }

  /** The key at `addr` as a latin1 string (for the rare callers that list keys). */
  toString(addr: number, length: number): string {
    return this.arena.view(addr * ALIGN, length).toString('latin1');
  }

  clear(): void {
    this.arena.clear();
  }
}
