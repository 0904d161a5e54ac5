/**
 * Whether a stream request must roll back, and to where (kv_engine failover-table.cc
 * needsRollback, in our words). A consumer that saw seqnos under a branch of history the server
 * abandoned must forget them before it may resume.
 */
import type { FailoverTable } from '../engine/failover-table.js';

export interface RollbackInput {
  start: number;
  snapStart: number;
  snapEnd: number;
  vbuuid: bigint;
  highSeqno: number;
  purgeSeqno: number;
}

/** Returns the seqno to roll back to, or null when the stream may start where asked. */
export function rollbackSeqno(table: FailoverTable, r: RollbackInput): number | null {
  const start = r.start;
  if (start === 0) return null;
  let a = r.snapStart;
  let b = r.snapEnd;
  // A consumer that received a whole snapshot is at its end; one that received nothing of it is
  // at its start.
  if (start === b) a = start;
  else if (start === a) b = start;
  if (a < r.purgeSeqno) return 0;
  const entries = table.list();
  const at = entries.findIndex((e) => e.uuid === r.vbuuid);
  if (at < 0) return 0;
  const upper = at === 0 ? r.highSeqno : entries[at - 1].seqno;
  if (b <= upper) return null;
  return upper < a ? upper : a;
}
