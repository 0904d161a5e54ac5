/**
 * The apply thread's LMDB transactions (apply-worker.ts): the writes of committed frames, then
 * the newest vBucket states and metadata they carry; and the states persisted at once.
 *
 * Two ways. The steady one writes the writes of the frames in order, reading each straight
 * from the frame's buffer into a scratch key: no object per write; a key written again in the
 * same transaction is put once, its newest write (newest-writes.ts), and each put moves the
 * seqno index from the seqno LMDB held before it.
 * The careful one, for frames LMDB may already hold (a replay after a crash, a commit that
 * failed part way), writes each key's newest write only and skips one LMDB holds byte for
 * byte, so a replay on a full disk needs no room for what is in already.
 */
import { checkRoom, freeBytes } from './disk-room.js';
import { encodeSeqnoKey, itemKeyVbid, seqnoKeySeqno, userKeyOf, VBID_LENGTH } from './key-codec.js';
import type { LmdbDatabases } from './lmdb-databases.js';
import { NewestWrites } from './newest-writes.js';
import type { CommitFrame, FrameReader } from './frame-reader.js';
import { recordSeqno } from './record.js';
import type { StaleSeqnos } from './stale-seqnos.js';
import type { KnownVBStates } from './known-vbstates.js';
import type { VBStateRecord } from './store.js';
import { decodeWriteBatch, WriteBatchReader, type DecodedWrite } from './write-batch-codec.js';

export type { CommitFrame } from './frame-reader.js';

/** What one write may dirty in LMDB beyond its own bytes: a leaf page of the items and one of
 * the seqno index. */
const PAGES_PER_WRITE_BYTES = 2 * 4096;
/** A commit holds at most about this much (by that estimate): a long backlog or replay goes in
 * several, so a disk with little room left still takes it piece by piece. */
const COMMIT_BYTES = 64 * 1024 * 1024;
/** ... or this much while the disk has room for twice it: about 31k writes, one transaction for
 * what a busy apply gap collects (up to ~26k writes over 1M keys), where 64 MB cut it into three
 * that rewrote the same pages and synced three times (bench/RESULTS.md, session 29). */
const ROOMY_COMMIT_BYTES = 256 * 1024 * 1024;

export class FrameCommitter {
  private readonly seqnoScratch = encodeSeqnoKey(0, 0);
  /** Item keys copied out of frames, with a view per length of the whole key and of its
   * client key, made once. */
  private readonly keyScratch = Buffer.allocUnsafe(VBID_LENGTH + 65535);
  private readonly keyViews: Array<Buffer | undefined> = [];
  private readonly userKeyViews: Array<Buffer | undefined> = [];
  private readonly newestWrites = new NewestWrites();

  constructor(
    private readonly db: LmdbDatabases,
    private readonly knownStates: KnownVBStates,
    private readonly path: string,
    private readonly stale: StaleSeqnos,
    private readonly frames: FrameReader,
  ) {}

  /** The frames' writes, then the newest state of each vBucket and metadata value they carry,
   * in one transaction (or several, if large). */
  commit(frames: readonly CommitFrame[]): void {
    const vbstates = new Map<number, VBStateRecord>();
    const meta = new Map<string, unknown>();
    for (const f of frames) {
      const head = this.frames.head(f);
      for (const [vbid, state] of head.vbstates) vbstates.set(vbid, state);
      if (head.progress) this.knownStates.complete(vbstates, head.progress);
      for (const [name, value] of head.meta) meta.set(name, value);
    }
    if (frames.some((f) => f.mayBeIn)) this.commitCarefully(frames, vbstates, meta);
    else this.commitInOrder(frames, vbstates, meta);
  }

  /** For each write of frames [from, to), in order, 1 if it is its key's newest there. */
  private markNewest(frames: readonly CommitFrame[], from: number, to: number): Uint8Array {
    let writes = 0;
    for (let i = from; i < to; i++) writes += frames[i].count;
    const marks = this.newestWrites;
    marks.begin(writes);
    for (let i = from; i < to; i++) {
      const f = frames[i];
      const { buffer, writesAt } = this.frames.read(f);
      const r = new WriteBatchReader(buffer, f.count, writesAt);
      marks.frame(r.bytes);
      while (r.next()) marks.add(r.keyAt, r.keyLength);
    }
    return marks.newest;
  }

  /** States persisted at once (persistVBStatesNow), never below what LMDB holds
   * (KnownVBStates.notBelow), inside the caller's transaction. */
  putStates(vbstates: Array<[number, VBStateRecord]>, meta: Array<[string, unknown]>): void {
    for (let i = 0; i < vbstates.length; i++) {
      const [vbid, state] = vbstates[i];
      vbstates[i] = [vbid, this.knownStates.notBelow(vbid, state, this.newestSeqno(vbid))];
      this.db.vbstates.putSync(vbid, vbstates[i][1]);
    }
    for (const [name, value] of meta) this.db.meta.putSync(name, value);
  }

  private commitInOrder(frames: readonly CommitFrame[], vbstates: Map<number, VBStateRecord>, meta: Map<string, unknown>): void {
    const limit = freeBytes(this.path) >= 2 * ROOMY_COMMIT_BYTES ? ROOMY_COMMIT_BYTES : COMMIT_BYTES;
    for (let from = 0; from < frames.length; ) {
      let bytes = 0;
      let to = from;
      while (to < frames.length && bytes < limit) {
        bytes += frames[to].bytes + frames[to].count * PAGES_PER_WRITE_BYTES;
        to++;
      }
      const last = to >= frames.length;
      checkRoom(this.path, bytes);
      const newest = this.markNewest(frames, from, to);
      this.db.env.transactionSync(() => {
        let w = 0;
        for (let i = from; i < to; i++) {
          const f = frames[i];
          const { buffer, writesAt } = this.frames.read(f);
          const r = new WriteBatchReader(buffer, f.count, writesAt);
          while (r.next()) if (newest[w++] === 1) this.writeFrom(r);
        }
        if (last) this.putStates([...vbstates], [...meta]);
      });
      if (last) this.knownStates.wrote(vbstates);
      from = to;
    }
  }

  private commitCarefully(frames: readonly CommitFrame[], vbstates: Map<number, VBStateRecord>, meta: Map<string, unknown>): void {
    const seen = new Set<string>();
    const newest: DecodedWrite[] = [];
    for (let i = frames.length - 1; i >= 0; i--) {
      const f = frames[i];
      // Each in a buffer of its own: the newest writes stay views into them.
      const { buffer, writesAt } = this.frames.read(f, true);
      const writes = [...decodeWriteBatch(buffer, f.count, writesAt)];
      for (let j = writes.length - 1; j >= 0; j--) {
        const key = writes[j].itemKey.toString('latin1');
        if (seen.has(key)) continue;
        seen.add(key);
        if (!f.mayBeIn || !this.alreadyIn(writes[j])) newest.push(writes[j]);
      }
    }
    // Everything already in (a replay after a crash that came after the apply): nothing to write,
    // so a full disk does not stop it. Frames without writes (a FLUSH's barrier) still count.
    if (newest.length === 0 && !this.statesDiffer(vbstates, meta)) return;
    // In pieces if large; the states go with the last, so they never cover a write before it is
    // in. A crash between pieces replays the frames again (their segments are still there).
    for (let from = 0; ; ) {
      let bytes = 0;
      let to = from;
      while (to < newest.length && bytes < COMMIT_BYTES) {
        bytes += newest[to].itemKey.length + (newest[to].record?.length ?? 0) + PAGES_PER_WRITE_BYTES;
        to++;
      }
      const last = to >= newest.length;
      checkRoom(this.path, bytes);
      this.db.env.transactionSync(() => {
        for (let i = from; i < to; i++) this.writeOne(newest[i]);
        if (last) this.putStates([...vbstates], [...meta]);
      });
      if (last) {
        this.knownStates.wrote(vbstates);
        return;
      }
      from = to;
    }
  }

  private statesDiffer(vbstates: ReadonlyMap<number, VBStateRecord>, meta: ReadonlyMap<string, unknown>): boolean {
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
    for (const [vbid, state] of vbstates) if (!same(this.db.vbstates.get(vbid), state)) return true;
    for (const [name, value] of meta) if (!same(this.db.meta.get(name), value)) return true;
    return false;
  }

  /** LMDB holds exactly this write already, byte for byte (a frame replayed after it was
   * applied). */
  private alreadyIn(w: DecodedWrite): boolean {
    const now = this.db.items.getBinaryFast(w.itemKey);
    if (w.record === null) return now === undefined;
    return now !== undefined && now.length === w.record.length && w.record.equals(now.subarray(0, now.length));
  }

  private writeOne(w: DecodedWrite): void {
    this.put(w.itemKey, userKeyOf(w.itemKey), w.seqno, w.record);
  }

  /** The reader's current write, its key copied into the scratch (lmdb-js copies keys and
   * values at each call, so one scratch serves every call). */
  private writeFrom(r: WriteBatchReader): void {
    const length = r.keyLength;
    r.bytes.copy(this.keyScratch, 0, r.keyAt, r.keyAt + length);
    const itemKey = (this.keyViews[length] ??= this.keyScratch.subarray(0, length));
    const userKey = (this.userKeyViews[length] ??= this.keyScratch.subarray(VBID_LENGTH, length));
    this.put(itemKey, userKey, r.seqno, r.recordLength < 0 ? null : r.bytes.subarray(r.recordAt, r.recordAt + r.recordLength));
  }

  /** One write (a null record removes the key), its seqno index entry moved from the seqno LMDB
   * holds for the key: the old entry's removal deferred (stale-seqnos.ts). Writing a frame a
   * second time (a replay after a crash before its segment was deleted) changes nothing. */
  private put(itemKey: Buffer, userKey: Buffer, seqno: number, record: Buffer | null): void {
    const vbid = itemKeyVbid(itemKey);
    const old = this.db.items.getBinaryFast(itemKey);
    const oldSeqno = old === undefined ? 0 : recordSeqno(old);
    if (oldSeqno > 0 && (oldSeqno !== seqno || record === null)) this.stale.add(vbid, oldSeqno);
    if (record !== null) {
      this.db.items.putSync(itemKey, record);
      this.db.seqnos.putSync(encodeSeqnoKey(vbid, seqno, this.seqnoScratch), userKey);
    } else if (old !== undefined) {
      this.db.items.removeSync(itemKey);
    }
  }

  /** The highest seqno LMDB's seqno index holds for a vBucket (0: none). */
  private newestSeqno(vbid: number): number {
    for (const key of this.db.seqnos.getKeys({ start: encodeSeqnoKey(vbid, Number.MAX_SAFE_INTEGER), end: encodeSeqnoKey(vbid, 0), reverse: true, limit: 1 })) return seqnoKeySeqno(key);
    return 0;
  }
}
