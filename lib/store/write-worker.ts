/**
 * The log thread: the main thread's write thread. It appends each batch to the commit log
 * (commit-log.ts) as one frame, syncs it and answers: the batch is then on disk, for a power
 * loss too. It tells the apply thread (apply-worker.ts, started here) where the frame is, which
 * reads it back and writes it to LMDB later, and passes that thread's notices on. Appending costs a write of the
 * batch's own bytes; an LMDB commit of the same batch rewrites a page per random key, so this
 * way acknowledgements no longer wait for LMDB (bench:commit).
 *
 * Segments: a new one starts when the current one is over SEGMENT_BYTES, and the apply thread
 * deletes each once its batches are in LMDB. Other requests (persist, deleteVBucket, flushed,
 * close) go to the apply thread in order, after the current segment is closed, so they see
 * every batch before them applied.
 */
import { unlinkSync } from 'node:fs';
import { parentPort, workerData, Worker } from 'node:worker_threads';
import { CommitLog, listSegments, segmentPath } from './commit-log.js';
import { encodeFrameHead } from './log-frame.js';
import { isNotice, type ApplyMessage, type ApplyNotice, type ApplyThreadSetup, type WriteReply, type WriteRequest, type WriteThreadSetup } from './write-messages.js';
import { HELPER_RESOURCE_LIMITS } from './worker-limits.js';
import { ownThreadId } from './thread-id.js';

/** Segments are deleted whole, so a crash replays at most about this much already applied. */
const SEGMENT_BYTES = 16 * 1024 * 1024;
/** A segment LMDB has caught up with is closed (and so deleted) once it holds this much: a
 * crash then replays little, and a light load does not create a file per LMDB commit. */
const CAUGHT_UP_SEGMENT_BYTES = 1024 * 1024;
/** Logged batches the apply thread has not committed yet, beyond which new ones are refused
 * until it catches up: the main thread keeps them in memory meanwhile. */
const MAX_UNAPPLIED_BYTES = 256 * 1024 * 1024;

const setup = workerData as WriteThreadSetup;
const port = parentPort;
Atomics.store(setup.threadIds, 0, ownThreadId());
Atomics.add(setup.started, 0, 1);
const existing = listSegments(setup.path);
let segment = (existing.length > 0 ? existing[existing.length - 1] : 0) + 1;
/** Opened at the first append, so a full disk at start fails that append, not the thread. */
let log: CommitLog | null = null;
let segmentLastBatch = 0;
/** Logged, not yet applied: batch number → frame bytes. */
const unapplied = new Map<number, number>();
let unappliedBytes = 0;
let applyError: ApplyNotice['applyError'] = null;

// Built as .js next to this file; under the tests' TypeScript loader this file is .ts.
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const applySetup: ApplyThreadSetup = { ...setup, segments: existing };
const applier = new Worker(new URL(`./apply-worker${ext}`, import.meta.url), { workerData: applySetup, resourceLimits: HELPER_RESOURCE_LIMITS });
let closing: number | null = null;
applier.on('message', (m: WriteReply | ApplyNotice) => {
  if (isNotice(m)) noticed(m);
  else {
    if (closing !== null && m.id === closing) finishClose();
    port?.postMessage(m);
  }
});
applier.on('error', (err) => died(err));
applier.on('exit', (code) => died(new Error(`apply thread exited (code ${code})`)));

port?.on('message', (req: WriteRequest) => {
  if (req.op === 'batch') return logBatch(req);
  closeSegment();
  if (req.op === 'close') closing = req.id;
  send(req);
});

function logBatch(req: Extract<WriteRequest, { op: 'batch' }>): void {
  const reply: WriteReply = { id: req.id, error: null };
  try {
    if (applyError !== null) throw Object.assign(new Error(`LMDB refuses the logged batches: ${applyError.message}`), { code: applyError.code });
    if (unappliedBytes > MAX_UNAPPLIED_BYTES) throw Object.assign(new Error('commit log: LMDB is behind by more than 256 MB'), { code: 'EAGAIN' });
    const head = encodeFrameHead({ batch: req.batch, count: req.count, vbstates: req.vbstates, progress: req.progress, meta: req.meta });
    log ??= CommitLog.open(segmentPath(setup.path, segment));
    // The writes straight from the main thread's shared buffer, which it reuses once answered.
    const at = log.appendParts([head, new Uint8Array(req.buffer, 0, req.bytes)]);
    log.sync();
    const length = head.length + req.bytes;
    segmentLastBatch = req.batch;
    unapplied.set(req.batch, length);
    unappliedBytes += length;
    send({ op: 'frame', segment, at, length, batch: req.batch, count: req.count });
    if (log.bytes >= SEGMENT_BYTES) closeSegment();
  } catch (err) {
    reply.error = err instanceof Error ? err.message : String(err);
    const code: unknown = err instanceof Error ? Reflect.get(err, 'code') : undefined;
    if (typeof code === 'string' || typeof code === 'number') reply.code = code;
  }
  toMainDelayed(reply);
}

/** Starts a new segment if the current one holds frames; the apply thread deletes the old one
 * once it has committed its last batch. */
function closeSegment(): void {
  if (segmentLastBatch === 0 || log === null) return;
  log.close();
  log = null;
  send({ op: 'closed', segment, lastBatch: segmentLastBatch });
  segment++;
  segmentLastBatch = 0;
}

function noticed(n: ApplyNotice): void {
  applyError = n.applyError;
  for (const [batch, bytes] of unapplied) {
    if (batch > n.applied) break;
    unappliedBytes -= bytes;
    unapplied.delete(batch);
  }
  // All of the current segment is in LMDB: if it is large, a new one starts and this one goes.
  if (segmentLastBatch > 0 && n.applied >= segmentLastBatch && log !== null && log.bytes >= CAUGHT_UP_SEGMENT_BYTES) closeSegment();
  // Behind the batch replies they follow, when the test hook delays those.
  toMainDelayed({ applied: n.applied, applyError: n.applyError });
}

/** A batch's answer or an applied notice, to the main thread: at once, or as late as the test
 * hook LMCACHED_COMMIT_REPLY_DELAY_MS says (both alike, so their order holds). */
function toMainDelayed(m: WriteReply | ApplyNotice): void {
  if (setup.commitReplyDelayMs > 0) setTimeout(() => port?.postMessage(m), setup.commitReplyDelayMs);
  else port?.postMessage(m);
}

/** Everything is applied and LMDB closed: a current segment holds no frame and goes too.
 * The apply thread ends by itself; then so does this one (no listener keeps it). */
function finishClose(): void {
  if (log !== null) {
    log.close();
    log = null;
    unlinkSync(segmentPath(setup.path, segment));
  }
  applier.once('exit', () => port?.close());
}

function send(m: ApplyMessage): void {
  applier.postMessage(m);
}

function died(err: Error): void {
  if (closing !== null) return;
  // Without the apply thread nothing more reaches LMDB: the main thread sees this thread end.
  process.stderr.write(`lmcached: apply thread failed: ${err.message}\n`);
  process.exit(1);
}
