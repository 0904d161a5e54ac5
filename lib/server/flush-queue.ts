/**
 * Defers connections' writes to the end of the event loop's poll phase, so one loop turn
 * first handles every socket that became readable and then writes every reply.
 *
 * Why: a reply written to an idle peer has to wake that peer's thread, and on loopback the
 * writer pays for the wakeup inside its write(). Writing each reply as soon as its request is
 * read wakes the client once per request; writing the turn's replies together wakes it once
 * and finds it running for the rest. setImmediate runs right after the poll phase, so no reply
 * waits longer than the turn that read its request.
 */

import { emptied } from '../engine/kept-arrays.js';

export interface Flushable {
  /** Set while queued; owned by the queue. */
  flushQueued: boolean;
  flushOutput(): void;
}

// Two lists swapped each turn, refilled by index: a fresh array per turn was a young-generation
// allocation per loop turn, which under unpipelined load is nearly one per request (and
// `length = 0` gives up the array's backing store just the same: kept-arrays.ts).
let queue: Flushable[] = [];
let queued = 0;
let spare: Flushable[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  const batch = queue;
  const n = queued;
  queue = spare;
  queued = 0;
  let i = 0;
  try {
    for (; i < n; i++) {
      const c = batch[i];
      c.flushQueued = false;
      c.flushOutput();
    }
  } finally {
    // A flush that threw (the process logs and keeps running) must not strand the rest, nor
    // leave `spare` and `queue` the same list.
    for (let j = i + 1; j < n; j++) {
      batch[j].flushQueued = false;
      deferFlush(batch[j]);
    }
    spare = emptied(batch, n);
  }
}

/** Queues `c` to flush at the end of this loop turn (once, however often it is queued). */
export function deferFlush(c: Flushable): void {
  if (c.flushQueued) return;
  c.flushQueued = true;
  queue[queued++] = c;
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
}
