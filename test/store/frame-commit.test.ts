/**
 * How many LMDB transactions the apply thread's FrameCommitter makes of one apply: on a disk
 * with room, the frames a busy apply gap collects go in one transaction (three rewrote the same
 * pages and synced three times, bench/RESULTS.md session 29); on a nearly full disk they still go
 * in pieces, each checked for room. Counted by LMDB's own last transaction id, and every write
 * is read back. Frames are given as the apply thread gets them: where the commit log holds them
 * (read back into one reused buffer, frame-reader.ts), or in memory as a replay holds them.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameCommitter } from '../../lib/store/frame-commit.js';
import { FrameReader, type CommitFrame } from '../../lib/store/frame-reader.js';
import { CommitLog, replayCommitLog, segmentPath } from '../../lib/store/commit-log.js';
import { freeBytes } from '../../lib/store/disk-room.js';
import { encodeItemKey } from '../../lib/store/key-codec.js';
import { KnownVBStates } from '../../lib/store/known-vbstates.js';
import { openDatabases } from '../../lib/store/lmdb-databases.js';
import { encodeFrame, encodeFrameHead, type FrameHead } from '../../lib/store/log-frame.js';
import { encodeRecord, ItemState, recordSeqno } from '../../lib/store/record.js';
import { StaleSeqnos } from '../../lib/store/stale-seqnos.js';
import type { ItemWrite } from '../../lib/store/store.js';
import { encodeWriteBatch, writeBatchBytes } from '../../lib/store/write-batch-codec.js';
import { mountTmpfs } from '../fixtures/small-fs.js';

/** Enough writes that the room estimate (8 KiB of pages each) passes 64 MB, below 256 MB. */
const WRITES = 12_000;
const FRAMES = 4;

/** The frames' heads (each with a metadata value, the newest of which LMDB keeps) and encoded
 * writes. */
function batches(): Array<{ head: FrameHead; writes: ArrayBuffer; bytes: number }> {
  const out: Array<{ head: FrameHead; writes: ArrayBuffer; bytes: number }> = [];
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
    out.push({ head: { batch: f + 1, count: writes.length, vbstates: [], progress: null, meta: [['last-frame', f + 1]] }, writes: buffer, bytes });
  }
  return out;
}

/** The frames in memory, as a replay holds them. */
function frames(): CommitFrame[] {
  return batches().map(({ head, writes, bytes }) => {
    const payload = encodeFrame(head, writes, bytes);
    return { batch: head.batch, count: head.count, bytes: payload.length, mayBeIn: false, payload: payload.buffer as ArrayBuffer, segment: 0, at: 0 };
  });
}

/** The frames appended to segment 1 of a commit log in `dir` (as the log thread does: head and
 * writes as parts), given by where they are. */
function logged(dir: string): CommitFrame[] {
  const log = CommitLog.open(segmentPath(dir, 1));
  const out = batches().map(({ head, writes, bytes }): CommitFrame => {
    const part = encodeFrameHead(head);
    const at = log.appendParts([part, new Uint8Array(writes, 0, bytes)]);
    return { batch: head.batch, count: head.count, bytes: part.length + bytes, mayBeIn: false, payload: null, segment: 1, at };
  });
  log.sync();
  log.close();
  return out;
}

/** Commits the frames (all of them by default) in `dir`; returns the transactions LMDB made for them. */
async function commitIn(t: Test, dir: string, given: CommitFrame[] = frames()): Promise<number> {
  const db = openDatabases(dir, 256 * 1024 * 1024);
  t.teardown(() => db.env.close());
  const reader = new FrameReader(dir);
  t.teardown(() => reader.close());
  const committer = new FrameCommitter(db, new KnownVBStates((vbid) => db.vbstates.get(vbid)), dir, new StaleSeqnos(db, dir), reader);
  const txnId = (): number => (db.env.getStats() as { lastTxnId: number }).lastTxnId;
  const before = txnId();
  committer.commit(given);
  const made = txnId() - before;
  t.equal(db.meta.get('last-frame'), FRAMES, 'the newest frame\'s metadata');
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

t.test('frames read back from the commit log: the same payloads, every write applied', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lmcached-frame-commit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const given = logged(dir);
  // The log's format is unchanged: a payload appended in parts replays as one encoded whole.
  const replayed: Buffer[] = [];
  replayCommitLog(segmentPath(dir, 1), (payload) => void replayed.push(Buffer.from(payload)));
  t.same(
    replayed.map((p) => p.toString('hex')),
    batches().map(({ head, writes, bytes }) => Buffer.from(encodeFrame(head, writes, bytes)).toString('hex')),
    'each frame replays as encodeFrame would have made it',
  );
  t.ok(given.every((f, i) => i === 0 || f.at > given[i - 1].at + given[i - 1].bytes), 'frames lie one after another');
  await commitIn(t, dir, given);
});

t.test('frames read back, a failed commit retried: each frame in a buffer of its own', async (t) => {
  // mayBeIn takes the careful path, which keeps views of every frame's writes at once.
  const dir = mkdtempSync(join(tmpdir(), 'lmcached-frame-commit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await commitIn(
    t,
    dir,
    logged(dir).map((f) => ({ ...f, mayBeIn: true })),
  );
});
