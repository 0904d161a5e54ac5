/**
 * The write thread: every LMDB write of the process runs here, one request at a time
 * (write-messages.ts), each batch as one synchronous transaction. The main thread keeps only
 * the reads; the B-tree work, the encoding and the commit's wait for the write lock are off the
 * event loop.
 *
 * A batch commits in the same transaction its item writes, the seqno-index changes (the key's
 * previous entry dropped, the new one added: one entry per key), its vBucket states and its
 * metadata. A previous seqno the main thread did not know (-1) is read here, inside the write
 * transaction, where every earlier batch is visible.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { encodeSeqnoKey, itemKeyVbid, userKeyOf, vbucketKeyRange } from './key-codec.js';
import { openDatabases } from './lmdb-databases.js';
import { recordSeqno } from './record.js';
import type { VBStateRecord } from './store.js';
import { MAX_KEPT_BYTES } from './batch-buffers.js';
import { decodeWriteBatch } from './write-batch-codec.js';
import type { WriteReply, WriteRequest, WriteThreadSetup } from './write-messages.js';

const DELETE_CHUNK = 10_000;

const setup = workerData as WriteThreadSetup;
const db = openDatabases(setup.path, setup.mapSize);
const seqnoScratch = encodeSeqnoKey(0, 0);
const port = parentPort;
let queue: Promise<void> = Promise.resolve();

port?.on('message', (req: WriteRequest) => {
  queue = queue.then(() => run(req));
});

async function run(req: WriteRequest): Promise<void> {
  let reply: WriteReply = { id: req.id, error: null };
  try {
    switch (req.op) {
      case 'batch':
        writeBatch(localCopy(req.buffer, req.bytes), req.count, req.vbstates, req.meta);
        break;
      case 'persist':
        db.env.transactionSync(() => putStates(req.vbstates, req.meta));
        await db.env.flushed;
        break;
      case 'deleteVBucket':
        deleteVBucket(req.vbid);
        break;
      case 'flushed':
        await db.env.flushed;
        break;
      case 'close':
        await db.env.close();
        break;
    }
  } catch (err) {
    const code: unknown = err instanceof Error ? Reflect.get(err, 'code') : undefined;
    reply = { id: req.id, error: err instanceof Error ? err.message : String(err) };
    if (typeof code === 'string' || typeof code === 'number') reply.code = code;
  }
  port?.postMessage(reply);
}

/** The batch copied out of the shared buffer into one of this thread's own: lmdb-js takes the
 * address of a value's buffer in ways that do not hold for a SharedArrayBuffer (it crashed in
 * mdb_put), and a copy here costs the main thread nothing. Reused from batch to batch, up to
 * the size the main thread's pool keeps (a burst's giant batch gets a buffer of its own). */
let local = new ArrayBuffer(0);
function localCopy(shared: SharedArrayBuffer, bytes: number): ArrayBuffer {
  let into = local;
  if (into.byteLength < bytes) {
    into = new ArrayBuffer(Math.max(bytes, Math.min(into.byteLength * 2, MAX_KEPT_BYTES)));
    if (into.byteLength <= MAX_KEPT_BYTES) local = into;
  }
  new Uint8Array(into, 0, bytes).set(new Uint8Array(shared, 0, bytes));
  return into;
}

function writeBatch(buffer: ArrayBuffer, count: number, vbstates: Array<[number, VBStateRecord]>, meta: Array<[string, unknown]>): void {
  db.env.transactionSync(() => {
    for (const w of decodeWriteBatch(buffer, count)) {
      const vbid = itemKeyVbid(w.itemKey);
      let oldSeqno = w.prevSeqno;
      if (oldSeqno < 0) {
        const old = db.items.getBinaryFast(w.itemKey);
        oldSeqno = old === undefined ? 0 : recordSeqno(old);
      }
      // lmdb-js copies keys at the call, so one scratch key serves every call.
      if (oldSeqno > 0 && (oldSeqno !== w.seqno || w.record === null)) db.seqnos.removeSync(encodeSeqnoKey(vbid, oldSeqno, seqnoScratch));
      if (w.record !== null) {
        db.items.putSync(w.itemKey, w.record);
        db.seqnos.putSync(encodeSeqnoKey(vbid, w.seqno, seqnoScratch), userKeyOf(w.itemKey));
      } else {
        db.items.removeSync(w.itemKey);
      }
    }
    putStates(vbstates, meta);
  });
}

function putStates(vbstates: Array<[number, VBStateRecord]>, meta: Array<[string, unknown]>): void {
  for (const [vbid, state] of vbstates) db.vbstates.putSync(vbid, state);
  for (const [name, value] of meta) db.meta.putSync(name, value);
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
}
