/**
 * kv_engine's stream-request rollback rules, case by case (DESIGN.md "Failover-table facts").
 */
import t from 'tap';
import { rollbackSeqno } from '../../lib/dcp/rollback.js';
import { FailoverTable } from '../../lib/engine/failover-table.js';

// Newest first: u3 from seqno 150, u2 from 100, u1 from 0.
const table = new FailoverTable([
  { uuid: 3n, seqno: 150 },
  { uuid: 2n, seqno: 100 },
  { uuid: 1n, seqno: 0 },
]);
const ask = (start: number, vbuuid: bigint, snapStart = start, snapEnd = start, highSeqno = 200, purgeSeqno = 0): number | null => rollbackSeqno(table, { start, vbuuid, snapStart, snapEnd, highSeqno, purgeSeqno });

t.equal(ask(0, 0n), null, 'start 0 never rolls back');
t.equal(ask(0, 99n), null, 'start 0 with any vbuuid');
t.equal(ask(10, 99n), 0, 'unknown vbuuid rolls back to 0');
t.equal(ask(180, 3n), null, 'newest branch, within the high seqno');
t.equal(ask(250, 3n), 200, 'newest branch, ahead of the high seqno: back to it');
t.equal(ask(90, 1n), null, 'old branch, before it ended');
t.equal(ask(100, 1n), null, 'old branch, exactly where it ended');
t.equal(ask(120, 1n), 100, 'old branch, beyond where it ended: back to the branch end');
t.equal(ask(120, 2n), null, 'middle branch within its range');
t.equal(ask(160, 2n), 150, 'middle branch beyond its end');
t.equal(ask(110, 1n, 95, 120), 95, 'inside a partial snapshot that crosses the branch end: back to the snapshot start');
t.equal(ask(120, 1n, 95, 120), 100, 'start equals snapshot end (snapshot whole): back to the branch end');
t.equal(ask(95, 1n, 95, 120), null, 'start equals snapshot start (nothing of it received): fine');
t.equal(ask(120, 1n, 110, 120), 100, 'a whole snapshot received: the start becomes the end');
t.equal(ask(50, 3n, 50, 50, 200, 60), 0, 'snapshot start below the purge seqno: back to 0');
t.equal(ask(50, 3n, 50, 50, 200, 40), null, 'above the purge seqno: fine');
