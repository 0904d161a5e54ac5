/**
 * Data this build cannot read is refused, never guessed at: an item record whose format byte
 * is not RECORD_FORMAT, and a data directory whose format version is not DATA_FORMAT_VERSION,
 * each stop the start with one line naming the directory and the problem, and a non-zero exit.
 */
import t, { type Test } from 'tap';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { withClient } from '../fixtures/client.js';
import { removeDataDir, runToExit, startServer, tempDataDir } from '../fixtures/server.js';
import { LmdbStore } from '../../lib/store/lmdb-store.js';
import { encodeItemKey } from '../../lib/store/key-codec.js';
import { RECORD_FORMAT, recordSeqno } from '../../lib/store/record.js';
import { DataFormatError } from '../../lib/store/store.js';

async function dataDirWithItems(t: Test): Promise<string> {
  const dataDir = tempDataDir();
  t.teardown(() => removeDataDir(dataDir));
  const a = await startServer({ dataDir });
  await withClient(a.port, async (c) => {
    for (const key of ['a', 'b']) t.equal((await c.call({ opcode: Op.SET, key, extras: setExtras(0, 0), value: `value-${key}` })).status, St.SUCCESS);
  });
  await a.stop('SIGTERM');
  return dataDir;
}

const itemKey = (k: string): Buffer => encodeItemKey(0, Buffer.from(k), 0, k.length);

t.test('an item record of an unknown format stops the start with one clear line', async (t) => {
  const dataDir = await dataDirWithItems(t);
  const store = new LmdbStore({ path: dataDir });
  const original = Buffer.from(store.getItem(itemKey('a')) as Buffer);
  t.equal(original[0], RECORD_FORMAT, 'records are written in the current format');
  const foreign = Buffer.from(original);
  foreign[0] = 9;
  const seqno = recordSeqno(original);
  await store.writeBatch([{ keyString: itemKey('a').toString('latin1'), record: foreign, seqno, prevSeqno: seqno }], new Map(), new Map());
  await store.flushed(); // from the commit log into LMDB, where reads look
  store.refreshReads();
  t.throws(() => store.getItem(itemKey('a')), DataFormatError, 'the store refuses to hand it out');
  t.ok(store.getItem(itemKey('b')), 'other records still read');
  await store.close();

  const run = await runToExit({ dataDir });
  t.equal(run.code, 65, 'exit 65 (EX_DATAERR)');
  t.equal(run.signal, null, 'an exit, not a crash');
  t.match(run.log, `warmup failed: ${dataDir}: item record of unknown format 9 (this build reads formats 1 and 2)`);
  t.notMatch(run.log, /\n\s+at /, 'no stack trace');
});

t.test('a data directory of an unknown format version stops the start', async (t) => {
  const dataDir = await dataDirWithItems(t);
  const store = new LmdbStore({ path: dataDir });
  await store.writeBatch([], new Map(), new Map([['formatVersion', 99]]));
  await store.close();
  const run = await runToExit({ dataDir });
  t.equal(run.code, 65, 'exit 65 (EX_DATAERR)');
  t.match(run.log, `warmup failed: ${dataDir}: data format 99 is not one this build reads (1, 2, 3, 4, 5)`);
  t.notMatch(run.log, /\n\s+at /, 'no stack trace');
});
