/**
 * The seqno index is exact after a clean shutdown under a random mix of writes: after any
 * sequence of SET, DELETE, APPEND, INCREMENT, TOUCH, GAT and FLUSH over a few keys in several
 * vBuckets, LMDB holds one index entry per stored record (live or tombstone), at that record's
 * seqno, and no other (the removals of old entries wait, stale-seqnos.ts, and a clean shutdown
 * makes them; stale-seqnos.test.ts covers the time before).
 *
 * `-m 1` with values up to 6 KB
 * ejects entries all the time, so both ways are exercised, and writes of one key land both in
 * one batch and in consecutive ones.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { LmdbStore } from '../../lib/store/lmdb-store.js';
import { userKeyOf } from '../../lib/store/key-codec.js';
import { recordSeqno } from '../../lib/store/record.js';
import { RawClient } from '../fixtures/client.js';
import { Op, arithExtras, setExtras, u32, type Req } from '../fixtures/frames.js';
import { rng } from '../fixtures/random.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';

const VBUCKETS = 4;

function randomRequest(random: () => number, flushNow: boolean): Req {
  const next = (): number => Math.floor(random() * 0x7fffffff);
  if (flushNow) return { opcode: Op.FLUSH };
  const key = `k${next() % 250}`;
  const vbucket = next() % VBUCKETS;
  const op = next() % 20;
  if (op < 8) return { opcode: next() % 2 === 0 ? Op.SET : Op.SETQ, key, vbucket, extras: setExtras(0, 0), value: Buffer.alloc(next() % 6000, 0x61) };
  if (op < 11) return { opcode: Op.DELETEQ, key, vbucket };
  if (op < 13) return { opcode: Op.APPENDQ, key, vbucket, value: 'x' };
  if (op < 15) return { opcode: Op.INCREMENTQ, key, vbucket, extras: arithExtras(1n, 5n, 0) };
  if (op < 17) return { opcode: Op.TOUCH, key, vbucket, extras: u32(1000) };
  if (op < 18) return { opcode: Op.GATQ, key, vbucket, extras: u32(1000) };
  return { opcode: Op.GET, key, vbucket };
}

for (const memory of ['1', '64']) {
  t.test(`one index entry per record, at its seqno (-m ${memory})`, async (t) => {
    const dir = tempDataDir();
    t.teardown(() => removeDataDir(dir));
    const server = await startServer({ dataDir: dir, args: ['--vbuckets', String(VBUCKETS), '-m', memory] });
    const c = await RawClient.connect(server.port);
    const next = rng(memory === '1' ? 11 : 12);
    for (let round = 0; round < 60; round++) {
      const batch: Req[] = [];
      for (let i = 0; i < 60; i++) batch.push(randomRequest(next, round === 30 && i === 0));
      await c.pipeline(...batch);
      // Sometimes let a commit happen between rounds, sometimes not.
      if (round % 3 === 0) await sleep(15);
    }
    const stats = await c.stats();
    c.end();
    await server.stop('SIGTERM');
    if (memory === '1') t.ok(Number(stats.get('cache_ejections')) > 0, `entries were ejected along the way (${stats.get('cache_ejections')}, ${stats.get('cache_bytes')} bytes, ${stats.get('limit_maxbytes')})`);

    const store = new LmdbStore({ path: dir });
    const seqnoOf = new Map<string, number>();
    for await (const chunk of store.scanItemsSnapshot()) for (const { itemKey, record } of chunk) seqnoOf.set(itemKey.toString('hex'), recordSeqno(record));
    let indexed = 0;
    const wrong: string[] = [];
    for (let vb = 0; vb < VBUCKETS; vb++) {
      for (const e of store.scanSeqnos(vb, 0, Number.MAX_SAFE_INTEGER - 1)) {
        indexed++;
        const hexKey = e.itemKey.toString('hex');
        if (seqnoOf.get(hexKey) !== e.seqno) wrong.push(`vb ${vb} seqno ${e.seqno} -> ${userKeyOf(e.itemKey).toString()} (record seqno ${seqnoOf.get(hexKey)})`);
      }
    }
    await store.close();
    t.ok(seqnoOf.size > 100, `${seqnoOf.size} records on disk`);
    t.same(wrong.slice(0, 5), [], 'every index entry points at a record with that seqno');
    t.equal(indexed, seqnoOf.size, 'and there is one per record');
  });
}
