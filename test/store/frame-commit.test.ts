/**
 * How many LMDB transactions the apply thread's FrameCommitter makes of one apply: on a disk
 * with room, the frames a busy apply gap collects go in one transaction (three rewrote the same
 * pages and synced three times, bench/RESULTS.md session 29); on a nearly full disk they still go
 * in pieces, each checked for room. Counted by LMDB's own last transaction id, and every write
 * is read back.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameCommitter, type CommitFrame } from '../../lib/store/frame-commit.js';
import { freeBytes } from '../../lib/store/disk-room.js';
import { encodeItemKey } from '../../lib/store/key-codec.js';
import { KnownVBStates } from '../../lib/store/known-vbstates.js';
import { openDatabases } from '../../lib/store/lmdb-databases.js';
import { decodeFrame, encodeFrame } from '../../lib/store/log-frame.js';
import { encodeRecord, ItemState, recordSeqno } from '../../lib/store/record.js';
import { StaleSeqnos } from '../../lib/store/stale-seqnos.js';
import type { ItemWrite } from '../../lib/store/store.js';
import { encodeWriteBatch, writeBatchBytes } from '../../lib/store/write-batch-codec.js';
import { mountTmpfs } from '../fixtures/small-fs.js';

/** Enough writes that the room estimate (8 KiB of pages each) passes 64 MB, below 256 MB. */
const WRITES = 12_000;
const FRAMES = 4;

function frames(): CommitFrame[] {
  const out: CommitFrame[] = [];
  const value = Buffer.alloc(100, 0x61);
  for (let f = 0; f < FRAMES; f++) {
    const writes: ItemWrite[] = [];
    for (let i = f; i < WRITES; i += FRAMES) {
      const key = Buffer.from(`key-${i}`);
      const seqno = i + 1;
      const record = encodeRecord({ state: ItemState.Live, datatype: 0, flags: 0, expiry: 0, cas: seqno, seqno, revSeqno: 1 }, value, 0, value.length);
      writes.push({ keyString: encodeItemKey(i % 4, key, 0, key.length).toString('latin1'), record, seqno, prevSeqno: 0 });
    }
    const bytes = writeBatchBytes(writes);
    const buffer = new ArrayBuffer(bytes);
    encodeWriteBatch(writes, buffer);
    const payload = encodeFrame({ batch: f + 1, count: writes.length, vbstates: [], progress: null, meta: [] }, buffer, bytes);
    const { head, writesAt } = decodeFrame(payload);
    out.push({ head, buffer: payload.buffer, writesAt, bytes: payload.length, mayBeIn: false });
  }
  return out;
}

/** Commits the frames in `dir`; returns the transactions LMDB made for them. */
async function commitIn(t: Test, dir: string): Promise<number> {
  const db = openDatabases(dir, 256 * 1024 * 1024);
  t.teardown(() => db.env.close());
  const committer = new FrameCommitter(db, new KnownVBStates((vbid) => db.vbstates.get(vbid)), dir, new StaleSeqnos(db, dir));
  const txnId = (): number => (db.env.getStats() as { lastTxnId: number }).lastTxnId;
  const before = txnId();
  committer.commit(frames());
  const made = txnId() - before;
  let found = 0;
  for (let i = 0; i < WRITES; i++) {
    const key = Buffer.from(`key-${i}`);
    const rec = db.items.getBinary(encodeItemKey(i % 4, key, 0, key.length));
    if (rec !== undefined && recordSeqno(rec) === i + 1) found++;
  }
  t.equal(found, WRITES, 'every write is in LMDB with its seqno');
  return made;
}

t.test('a disk with room: one transaction for the whole apply', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lmcached-frame-commit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  if (freeBytes(dir) < 2 * 256 * 1024 * 1024) {
    t.plan(0, 'the temp directory has less than 512 MB free');
    return;
  }
  t.equal(await commitIn(t, dir), 1, 'one LMDB transaction');
});

t.test('a nearly full disk: the same apply in pieces', async (t) => {
  const dir = mountTmpfs(t, 128);
  if (dir === null) return;
  t.ok((await commitIn(t, dir)) >= 2, 'more than one LMDB transaction');
});
