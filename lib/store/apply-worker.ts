/**
 * The apply thread: every LMDB write of the process runs here. It takes the batches the log
 * thread (write-worker.ts) has made durable in the commit log and writes them to LMDB, all that
 * arrived while the previous commit ran in one transaction: under load a commit holds many
 * batches, and each key only once (its newest write), which is what makes LMDB's cost per write
 * fall (bench:commit). A segment of the log is deleted once every batch in it is committed and
 * synced here. At start, before any message, it replays the segments a crash left behind.
 *
 * A write's previous seqno is always read here, inside the transaction: the main thread's
 * guess is about LMDB as it was, and LMDB runs behind the log.
 */
import { renameSync, statfsSync, unlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { replayCommitLog, segmentPath } from './commit-log.js';
import { encodeSeqnoKey, itemKeyVbid, seqnoKeySeqno, userKeyOf, vbucketKeyRange } from './key-codec.js';
import { openDatabases } from './lmdb-databases.js';
import { decodeFrame, type FrameHead } from './log-frame.js';
import { recordSeqno } from './record.js';
import { KnownVBStates } from './known-vbstates.js';
import type { ReplayReport, VBStateRecord } from './store.js';
import { decodeWriteBatch, type DecodedWrite } from './write-batch-codec.js';
import type { ApplyMessage, ApplyNotice, ApplyThreadSetup, WriteReply } from './write-messages.js';

const DELETE_CHUNK = 10_000;
/** Replay commits every this many bytes of frames, so a long log needs no memory of its size. */
const REPLAY_COMMIT_BYTES = 64 * 1024 * 1024;
/** What one write may dirty in LMDB beyond its own bytes: a leaf page of the items and one of
 * the seqno index. */
const PAGES_PER_WRITE_BYTES = 2 * 4096;
/** A commit holds at most about this much (by that estimate): a long backlog or replay goes in
 * several, so a disk with little room left still takes it piece by piece. */
const COMMIT_BYTES = 64 * 1024 * 1024;
/** LMDB transactions start at least this far apart: under a light load each would otherwise
 * hold one small batch and cost a page write per key and an fsync, on a core the event loop
 * needs. Acknowledgements do not wait for them; reads and DCP find the writes in memory
 * meanwhile, and a settle, persist or shutdown applies at once. */
const APPLY_INTERVAL_MS = 20;
/** Under load the gap grows with the last transaction's length, to this many times it (the
 * thread busy about 1/(1+DUTY_GAP) of the time, at most APPLY_INTERVAL_MAX_MS apart): a longer
 * gap lets one transaction take more writes per page it rewrites, and more rewrites of one key. */
const DUTY_GAP = 4;
const APPLY_INTERVAL_MAX_MS = 250;
/** Frames pending beyond this are applied at once, whatever the gap: the main thread stops
 * starting batches at 16 MB of writes not in LMDB, and keys that are all different gain nothing
 * from waiting. */
const APPLY_NOW_BYTES = 4 * 1024 * 1024;
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;

interface Frame {
  head: FrameHead;
  buffer: ArrayBufferLike;
  writesAt: number;
  bytes: number;
  /** LMDB may hold some of its writes already: read back at start (a crash after the apply),
   * or its commit failed after some pieces went in. Its writes are compared with LMDB's first,
   * so one already in costs no room on a full disk. */
  mayBeIn: boolean;
}

const setup = workerData as ApplyThreadSetup;
const db = openDatabases(setup.path, setup.mapSize);
const seqnoScratch = encodeSeqnoKey(0, 0);
const port = parentPort;

let pending: Frame[] = [];
let pendingBytes = 0;
let applied = 0;
let applyError: ApplyNotice['applyError'] = null;
let retryDelay = RETRY_FIRST_MS;
let retryTimer: NodeJS.Timeout | null = null;
let applyTimer: NodeJS.Timeout | null = null;
let applyImmediate = false;
let lastApplyAt = 0;
/** How long the last transaction that wrote frames took. */
let lastApplyMs = 0;
/** Closed segments, oldest first, with the last batch each holds. */
const closed: Array<{ segment: number; lastBatch: number }> = [];
let queue: Promise<void> = Promise.resolve();
const knownStates = new KnownVBStates((vbid) => db.vbstates.get(vbid));
/** While the segments of the last run are replayed: their batch numbers are that run's, so
 * they are not noticed to the main thread, whose numbers start again at 1. */
let replaying = true;

const report = replayAtStart();
replaying = false;

port?.on('message', (m: ApplyMessage) => {
  switch (m.op) {
    case 'frame':
      // Taken in turn with the requests around it: a persist sent after a batch applies it
      // first, and never one sent after the persist.
      queue = queue.then(() => take(m.payload));
      break;
    case 'closed':
      closed.push({ segment: m.segment, lastBatch: m.lastBatch });
      if (setup.applyHoldMs === 0) queue = queue.then(() => tryApply());
      break;
    default:
      queue = queue.then(() => run(m));
  }
});

function take(payload: ArrayBuffer, mayBeIn = false): void {
  const bytes = new Uint8Array(payload);
  const { head, writesAt } = decodeFrame(bytes);
  pending.push({ head, buffer: payload, writesAt, bytes: payload.byteLength, mayBeIn });
  pendingBytes += payload.byteLength;
  if (!replaying) scheduleApply();
}

/** Every frame already queued for this thread is taken before an apply that is due now runs
 * (setImmediate): one commit. */
function scheduleApply(): void {
  if (applyImmediate) return;
  const gap = Math.min(APPLY_INTERVAL_MAX_MS, Math.max(APPLY_INTERVAL_MS, DUTY_GAP * lastApplyMs));
  const wait = setup.applyHoldMs > 0 ? setup.applyHoldMs : pendingBytes >= APPLY_NOW_BYTES ? 0 : lastApplyAt + gap - performance.now();
  if (wait > 0) {
    applyTimer ??= setTimeout(startApply, wait);
    return;
  }
  if (applyTimer !== null) clearTimeout(applyTimer);
  applyTimer = null;
  applyImmediate = true;
  setImmediate(startApply);
}

function startApply(): void {
  applyTimer = null;
  applyImmediate = false;
  queue = queue.then(() => tryApply());
}

async function run(req: Exclude<ApplyMessage, { op: 'frame' | 'closed' }>): Promise<void> {
  let reply: WriteReply = { id: req.id, error: null };
  try {
    if (req.op !== 'replay') applyNow();
    switch (req.op) {
      case 'persist':
        db.env.transactionSync(() => putStates(req.vbstates, req.meta));
        knownStates.wrote(req.vbstates);
        await db.env.flushed;
        break;
      case 'deleteVBucket':
        deleteVBucket(req.vbid);
        break;
      case 'flushed':
        await db.env.flushed;
        break;
      case 'replay':
        reply.replay = { ...report, error: applyError?.message ?? null };
        break;
      case 'close':
        if (retryTimer !== null) clearTimeout(retryTimer);
        await db.env.close();
        // Nothing more to do: the thread ends once this reply is out.
        setImmediate(() => port?.close());
        break;
    }
  } catch (err) {
    reply = { id: req.id, error: err instanceof Error ? err.message : String(err) };
    const code = errorCode(err);
    if (code !== undefined) reply.code = code;
  }
  port?.postMessage(reply);
}

/** Commits what is pending, or keeps it and tries again after a back-off (a full disk). */
function tryApply(): void {
  try {
    applyNow();
  } catch {
    if (retryTimer === null) {
      retryTimer = setTimeout(() => {
        retryTimer = null;
        queue = queue.then(() => tryApply());
      }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
    }
  }
}

/** Commits every pending frame in one transaction and deletes the segments that holds whole;
 * throws (keeping them pending, and the error noticed) if LMDB refuses. */
function applyNow(): void {
  lastApplyAt = performance.now();
  if (pending.length > 0) {
    const frames = pending;
    try {
      commitFrames(frames);
      lastApplyMs = performance.now() - lastApplyAt;
    } catch (err) {
      for (const f of frames) f.mayBeIn = true;
      const message = err instanceof Error ? err.message : String(err);
      const code = errorCode(err);
      applyError = code === undefined ? { message } : { message, code };
      notice();
      throw err;
    }
    pending = [];
    pendingBytes = 0;
    applied = frames[frames.length - 1].head.batch;
    applyError = null;
    retryDelay = RETRY_FIRST_MS;
  }
  while (closed.length > 0 && closed[0].lastBatch <= applied) {
    unlinkSync(segmentPath(setup.path, closed[0].segment));
    closed.shift();
  }
  notice();
}

function notice(): void {
  if (!replaying) port?.postMessage({ applied, applyError } satisfies ApplyNotice);
}

/** One transaction: each key's newest write among the frames, then the newest state of each
 * vBucket and metadata value they carry. */
function commitFrames(frames: readonly Frame[]): void {
  const vbstates = new Map<number, VBStateRecord>();
  const meta = new Map<string, unknown>();
  for (const f of frames) {
    for (const [vbid, state] of f.head.vbstates) vbstates.set(vbid, state);
    if (f.head.progress) knownStates.complete(vbstates, f.head.progress);
    for (const [name, value] of f.head.meta) meta.set(name, value);
  }
  const seen = new Set<string>();
  const newest: DecodedWrite[] = [];
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i];
    const writes = [...decodeWriteBatch(f.buffer, f.head.count, f.writesAt)];
    for (let j = writes.length - 1; j >= 0; j--) {
      const key = writes[j].itemKey.toString('latin1');
      if (seen.has(key)) continue;
      seen.add(key);
      if (!f.mayBeIn || !alreadyIn(writes[j])) newest.push(writes[j]);
    }
  }
  // Everything already in (a replay after a crash that came after the apply): nothing to write,
  // so a full disk does not stop it. Frames without writes (a FLUSH's barrier) still count.
  if (newest.length === 0 && !statesDiffer(vbstates, meta)) return;
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
    checkRoom(bytes);
    db.env.transactionSync(() => {
      for (let i = from; i < to; i++) writeOne(newest[i]);
      if (last) putStates([...vbstates], [...meta]);
    });
    if (last) {
      knownStates.wrote(vbstates);
      return;
    }
    from = to;
  }
}

/**
 * Refuses (ENOSPC) a commit the disk has clearly no room for, before LMDB meets the full disk:
 * lmdb-js 3.5 formats a failed page write's message into a 100-byte heap buffer, which a long
 * message overruns (a process abort seen in test/server/disk-full.test.ts once commits grew).
 * A disk filled by someone else between this check and the commit still reaches that path.
 */
function checkRoom(bytes: number): void {
  const fs = statfsSync(setup.path);
  const free = fs.bavail * fs.bsize;
  if (free < bytes) throw Object.assign(new Error(`no space left on device: ${free} bytes free, this commit needs about ${bytes}`), { code: 'ENOSPC' });
}

function statesDiffer(vbstates: ReadonlyMap<number, VBStateRecord>, meta: ReadonlyMap<string, unknown>): boolean {
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  for (const [vbid, state] of vbstates) if (!same(db.vbstates.get(vbid), state)) return true;
  for (const [name, value] of meta) if (!same(db.meta.get(name), value)) return true;
  return false;
}

/** LMDB holds exactly this write already, byte for byte (a frame replayed after it was
 * applied). */
function alreadyIn(w: DecodedWrite): boolean {
  const now = db.items.getBinaryFast(w.itemKey);
  if (w.record === null) return now === undefined;
  return now !== undefined && now.length === w.record.length && w.record.equals(now.subarray(0, now.length));
}

function writeOne(w: DecodedWrite): void {
  const vbid = itemKeyVbid(w.itemKey);
  const old = db.items.getBinaryFast(w.itemKey);
  const oldSeqno = old === undefined ? 0 : recordSeqno(old);
  // lmdb-js copies keys at the call, so one scratch key serves every call. Writing a frame a
  // second time (a replay after a crash before its segment was deleted) changes nothing.
  if (oldSeqno > 0 && (oldSeqno !== w.seqno || w.record === null)) db.seqnos.removeSync(encodeSeqnoKey(vbid, oldSeqno, seqnoScratch));
  if (w.record !== null) {
    db.items.putSync(w.itemKey, w.record);
    db.seqnos.putSync(encodeSeqnoKey(vbid, w.seqno, seqnoScratch), userKeyOf(w.itemKey));
  } else if (old !== undefined) {
    db.items.removeSync(w.itemKey);
  }
}

/** States persisted at once (persistVBStatesNow), never below what LMDB holds
 * (KnownVBStates.notBelow), in their transaction. */
function putStates(vbstates: Array<[number, VBStateRecord]>, meta: Array<[string, unknown]>): void {
  for (let i = 0; i < vbstates.length; i++) {
    const [vbid, state] = vbstates[i];
    vbstates[i] = [vbid, knownStates.notBelow(vbid, state, newestSeqno(vbid))];
    db.vbstates.putSync(vbid, vbstates[i][1]);
  }
  for (const [name, value] of meta) db.meta.putSync(name, value);
}

/** The highest seqno LMDB's seqno index holds for a vBucket (0: none). */
function newestSeqno(vbid: number): number {
  for (const key of db.seqnos.getKeys({ start: encodeSeqnoKey(vbid, Number.MAX_SAFE_INTEGER), end: encodeSeqnoKey(vbid, 0), reverse: true, limit: 1 })) return seqnoKeySeqno(key);
  return 0;
}

/** In chunked transactions, so a large vBucket does not make one huge commit. */
function deleteVBucket(vbid: number): void {
  const { start, end } = vbucketKeyRange(vbid);
  for (let more = true; more; ) {
    db.env.transactionSync(() => {
      const keys = [...db.items.getKeys({ start, end, limit: DELETE_CHUNK })];
      const seqs = [...db.seqnos.getKeys({ start, end, limit: DELETE_CHUNK })];
      for (const k of keys) db.items.removeSync(k);
      for (const k of seqs) db.seqnos.removeSync(k);
      more = keys.length > 0 || seqs.length > 0;
    });
  }
  db.env.transactionSync(() => db.vbstates.removeSync(vbid));
  knownStates.deleted(vbid);
}

/**
 * Replays the segments found at start, in order, up to the first frame that fails its checks.
 * A bad end of the last segment is an append cut short by the crash (never acknowledged: a
 * batch is answered after its frame is synced). Anything bad before that is damage: the
 * segment and every later one are renamed `.damaged` and not applied, since a later frame
 * applied over a lost one would put seqnos on disk that their predecessors never reached.
 * Committed and synced before the segments are deleted; a crash meanwhile replays them again,
 * which writes the same records.
 */
function replayAtStart(): Omit<ReplayReport, 'error'> {
  const out: Omit<ReplayReport, 'error'> = { segments: setup.segments.length, frames: 0, writes: 0, tornBytes: 0, damaged: [] };
  let damagedFrom = -1;
  for (let i = 0; i < setup.segments.length && damagedFrom < 0; i++) {
    const path = segmentPath(setup.path, setup.segments[i]);
    const r = replayCommitLog(path, (payload) => {
      const copy = new ArrayBuffer(payload.length);
      new Uint8Array(copy).set(payload);
      take(copy, true);
      out.frames++;
      out.writes += pending[pending.length - 1].head.count;
      if (pendingBytes >= REPLAY_COMMIT_BYTES) applyOrKeep();
    });
    // Only the last segment was being appended to: a bad end anywhere else is damage.
    if (r.discardedBytes > 0) {
      if (i === setup.segments.length - 1 && !r.damaged) out.tornBytes = r.discardedBytes;
      else damagedFrom = i;
    }
  }
  if (damagedFrom >= 0) {
    for (const n of setup.segments.slice(damagedFrom)) {
      const path = segmentPath(setup.path, n);
      renameSync(path, `${path}.damaged`);
      out.damaged.push(`${path}.damaged`);
    }
  }
  const last = pending.length > 0 ? pending[pending.length - 1].head.batch : 0;
  for (const n of setup.segments.slice(0, damagedFrom >= 0 ? damagedFrom : undefined)) closed.push({ segment: n, lastBatch: last });
  applyOrKeep();
  // Batch numbers start again at 1 in this process: what was replayed is all applied or pending.
  for (const c of closed) c.lastBatch = 0;
  for (const f of pending) f.head.batch = 0;
  applied = 0;
  return out;
}

function applyOrKeep(): void {
  try {
    applyNow();
  } catch {
    tryApply();
  }
}

function errorCode(err: unknown): string | number | undefined {
  const code: unknown = err instanceof Error ? Reflect.get(err, 'code') : undefined;
  return typeof code === 'string' || typeof code === 'number' ? code : undefined;
}
