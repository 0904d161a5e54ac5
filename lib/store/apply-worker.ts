/**
 * The apply thread: every LMDB write of the process runs here. It takes the batches the log
 * thread (write-worker.ts) has made durable in the commit log and writes them to LMDB, all that
 * arrived while the previous commit ran in one transaction (frame-commit.ts): under load a
 * commit holds many batches and rewrites each page once for all of their writes to it, which is
 * what makes LMDB's cost per write fall (bench:commit). A segment of the log is deleted once
 * every batch in it is committed and synced here. At start, before any message, it replays the
 * segments a crash left behind.
 *
 * A write's previous seqno is always read here, inside the transaction: the main thread's
 * guess is about LMDB as it was, and LMDB runs behind the log.
 */
import { renameSync, unlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { replayCommitLog, segmentPath } from './commit-log.js';
import { FrameCommitter } from './frame-commit.js';
import { FrameReader, type CommitFrame } from './frame-reader.js';
import { vbucketKeyRange } from './key-codec.js';
import { openDatabases } from './lmdb-databases.js';
import { decodeFrame } from './log-frame.js';
import { KnownVBStates } from './known-vbstates.js';
import { SeqnoIndexSweep } from './seqno-index-sweep.js';
import { StaleSeqnos } from './stale-seqnos.js';
import { ownThreadId } from './thread-id.js';
import type { ReplayReport } from './store.js';
import type { ApplyMessage, ApplyNotice, ApplyThreadSetup, WriteReply } from './write-messages.js';

const DELETE_CHUNK = 10_000;
/** Replay commits every this many bytes of frames, so a long log needs no memory of its size. */
const REPLAY_COMMIT_BYTES = 64 * 1024 * 1024;
/** LMDB transactions start at least this far apart: under a light load each would otherwise
 * hold one small batch and cost a page write per key and an fsync, on a core the event loop
 * needs. Acknowledgements do not wait for them; reads and DCP find the writes in memory
 * meanwhile, and a settle, persist or shutdown applies at once. 100 ms (was 20): at 6,000
 * writes/s this thread's CPU per write fell from ~19 to ~12 µs, and 90/10 and SET loads gained
 * (bench/RESULTS.md, session 32); 250 gained little more. */
const APPLY_INTERVAL_MS = 100;
/** Under load the gap grows with the last transaction's length, to this many times it (the
 * thread busy about 1/(1+DUTY_GAP) of the time, at most APPLY_INTERVAL_MAX_MS apart): a longer
 * gap lets one transaction take more writes per page it rewrites, and more rewrites of one key. */
const DUTY_GAP = 4;
const APPLY_INTERVAL_MAX_MS = 250;
/** Frames pending beyond this are applied at once, whatever the gap: the main thread stops
 * starting batches at 16 MB of writes not in LMDB, and keys that are all different gain nothing
 * from waiting. */
const APPLY_NOW_BYTES = 4 * 1024 * 1024;
/** Stale seqno-index entries (stale-seqnos.ts) are removed once this many wait, or once no
 * frame has come for STALE_IDLE_MS: enough of them that most removals share a page with
 * others, and few enough that their list stays small (8 bytes each). */
const STALE_REMOVE_AT = 262_144;
const STALE_IDLE_MS = 1000;
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;

const setup = workerData as ApplyThreadSetup;
Atomics.store(setup.threadIds, 1, ownThreadId());
Atomics.add(setup.started, 0, 1);
const db = openDatabases(setup.path, setup.mapSize);
const port = parentPort;

let pending: CommitFrame[] = [];
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
const stale = new StaleSeqnos(db, setup.path);
const sweep = new SeqnoIndexSweep(db, setup.path);
const frameReader = new FrameReader(setup.path);
const committer = new FrameCommitter(db, knownStates, setup.path, stale, frameReader);
let staleTimer: NodeJS.Timeout | null = null;
/** A removal (or sweep) chunk is queued: it queues the next itself. */
let staleChunkQueued = false;
/** While the segments of the last run are replayed: their batch numbers are that run's, so
 * they are not noticed to the main thread, whose numbers start again at 1. */
let replaying = true;

const report = replayAtStart();
replaying = false;
// Entries a crash left in the index while their removal waited are found by a sweep.
if (sweep.leftovers(stale.size) > 0) sweep.start();
scheduleStaleRemoval();

port?.on('message', (m: ApplyMessage) => {
  switch (m.op) {
    case 'frame':
      // Taken in turn with the requests around it: a persist sent after a batch applies it
      // first, and never one sent after the persist.
      queue = queue.then(() => take({ batch: m.batch, count: m.count, bytes: m.length, mayBeIn: false, payload: null, segment: m.segment, at: m.at }));
      break;
    case 'closed':
      closed.push({ segment: m.segment, lastBatch: m.lastBatch });
      if (setup.applyHoldMs === 0) queue = queue.then(() => tryApply());
      break;
    default:
      queue = queue.then(() => run(m));
  }
});

function take(f: CommitFrame): void {
  pending.push(f);
  pendingBytes += f.bytes;
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
        db.env.transactionSync(() => committer.putStates(req.vbstates, req.meta));
        knownStates.wrote(req.vbstates);
        // Seqnos above a state's high seqno will be issued again (a rollback).
        for (const [vbid, state] of req.vbstates) stale.forget(vbid, state.highSeqno);
        await db.env.flushed;
        break;
      case 'deleteVBucket':
        stale.forget(req.vbid);
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
        if (staleTimer !== null) clearTimeout(staleTimer);
        removeStaleBeforeClose();
        frameReader.close();
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
      committer.commit(frames);
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
    applied = frames[frames.length - 1].batch;
    applyError = null;
    retryDelay = RETRY_FIRST_MS;
    if (!replaying) scheduleStaleRemoval();
  }
  while (closed.length > 0 && closed[0].lastBatch <= applied) {
    frameReader.forget(closed[0].segment);
    unlinkSync(segmentPath(setup.path, closed[0].segment));
    closed.shift();
  }
  notice();
}

function notice(): void {
  if (replaying) return;
  port?.postMessage({ applied, applyError } satisfies ApplyNotice);
}

/** Removes stale seqno entries a chunk per turn of the queue (frames and requests go between
 * the chunks): once STALE_REMOVE_AT wait, down to an eighth of that (the rest are too few to
 * share pages well); after STALE_IDLE_MS without a commit, all of them, then the sweep if one
 * is due. */
function scheduleStaleRemoval(): void {
  if (staleChunkQueued || (stale.size === 0 && !sweep.running)) return;
  if (staleTimer !== null) clearTimeout(staleTimer);
  staleTimer = null;
  if (stale.size >= STALE_REMOVE_AT) queueStaleChunk(STALE_REMOVE_AT / 8);
  else
    staleTimer = setTimeout(() => {
      staleTimer = null;
      queueStaleChunk(0);
    }, STALE_IDLE_MS);
}

function queueStaleChunk(downTo: number): void {
  if (staleChunkQueued) return;
  staleChunkQueued = true;
  queue = queue.then(() => {
    staleChunkQueued = false;
    try {
      if (stale.size > downTo) stale.removeSome();
      else if (downTo === 0) sweep.step();
      if (stale.size > downTo || (downTo === 0 && sweep.running)) setImmediate(() => queueStaleChunk(downTo));
      else scheduleStaleRemoval();
    } catch {
      // LMDB refused (a full disk): the entries wait for the next commit or the idle delay.
      staleTimer ??= setTimeout(() => {
        staleTimer = null;
        queueStaleChunk(0);
      }, STALE_IDLE_MS);
    }
  });
}

/** A clean shutdown leaves no stale entry behind; if LMDB refuses, the next start sweeps. */
function removeStaleBeforeClose(): void {
  try {
    stale.removeAll();
  } catch {
    // Left for the sweep at the next start.
  }
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
      // Held in memory: a damaged segment is renamed before they are applied.
      const copy = new ArrayBuffer(payload.length);
      new Uint8Array(copy).set(payload);
      const { head } = decodeFrame(new Uint8Array(copy));
      take({ batch: head.batch, count: head.count, bytes: copy.byteLength, mayBeIn: true, payload: copy, segment: 0, at: 0 });
      out.frames++;
      out.writes += head.count;
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
  const last = pending.length > 0 ? pending[pending.length - 1].batch : 0;
  for (const n of setup.segments.slice(0, damagedFrom >= 0 ? damagedFrom : undefined)) closed.push({ segment: n, lastBatch: last });
  applyOrKeep();
  // Batch numbers start again at 1 in this process: what was replayed is all applied or pending.
  for (const c of closed) c.lastBatch = 0;
  for (const f of pending) f.batch = 0;
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
