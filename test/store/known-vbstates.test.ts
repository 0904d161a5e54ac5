/**
 * KnownVBStates.notBelow: a state persisted at once never says a lower high seqno than LMDB's
 * newest seqno for its vBucket (the race test is test/regressions/vbstate-persist-race.test.ts).
 */
import t from 'tap';
import { KnownVBStates } from '../../lib/store/known-vbstates.js';
import type { VBStateRecord } from '../../lib/store/store.js';

const state = (highSeqno: number, snapStart = highSeqno, snapEnd = highSeqno, maxCas = 5): VBStateRecord => ({ state: 1, highSeqno, purgeSeqno: 0, maxDeletedRevSeqno: 0, maxCas, snapStart, snapEnd, failovers: [['7', 0]] });

t.test('a state at or above LMDB newest seqno is written as asked (a rollback too)', async (t) => {
  const known = new KnownVBStates(() => state(40));
  const asked = state(20);
  t.equal(known.notBelow(1, asked, 20), asked, 'equal to the newest seqno');
  t.equal(known.notBelow(1, asked, 0), asked, 'an empty vBucket (a rollback to 20 after everything above went)');
});

t.test('a state below LMDB newest seqno takes LMDB high seqno and snapshot, keeping the rest', async (t) => {
  const known = new KnownVBStates(() => state(40, 31, 45, 9));
  const asked = { ...state(20), state: 4, failovers: [['8', 20] as [string, number]] };
  const written = known.notBelow(1, asked, 40);
  t.same(written, { ...asked, highSeqno: 40, snapStart: 31, snapEnd: 45, maxCas: 9 });
  const noKnown = new KnownVBStates(() => undefined).notBelow(2, asked, 33);
  t.same([noKnown.highSeqno, noKnown.snapStart, noKnown.snapEnd, noKnown.state], [33, 33, 33, 4], 'without a known state: the newest seqno, a snapshot ending there');
});
