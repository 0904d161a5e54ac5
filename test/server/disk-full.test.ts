/**
 * A disk that fills up, for real: the data directory lives on a small tmpfs made by the test,
 * next to a filler file. lmcached must stay up; refuse writes it cannot persist (ENOMEM, and
 * memcached's "SERVER_ERROR out of memory storing object" on the text protocol); in
 * --ack=persist never acknowledge a write before it is on disk; in --ack=memory keep the
 * writes it acknowledged readable and persist them later; keep serving reads and stats; and
 * take writes again by itself once the filler is removed. Every acknowledged write is there
 * after a SIGKILL and a restart.
 */
import t, { type Test } from 'tap';
import { closeSync, mkdirSync, openSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { RawClient } from '../fixtures/client.js';
import { clientFor } from '../fixtures/harness.js';
import { startServer, type ServerHandle } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';
import { mountTmpfs } from '../fixtures/small-fs.js';
import { DcpConsumer } from '../../lib/dcp/consumer.js';

const ENOMEM = 0x82;
const VALUE = Buffer.alloc(100 * 1024, 0x61);

/** A tmpfs of `mb` megabytes with a `fillerMb` file in it, or null where mounting is refused. */
function smallFilesystem(t: Test, mb: number, fillerMb: number): { dir: string; filler: string } | null {
  const dir = mountTmpfs(t, mb);
  if (dir === null) return null;
  const filler = join(dir, 'filler');
  writeFileSync(filler, Buffer.alloc(fillerMb * 1024 * 1024, 1));
  mkdirSync(join(dir, 'data'));
  return { dir, filler };
}

async function stat(c: RawClient, name: string): Promise<string | undefined> {
  return (await c.stats()).get(name);
}

/** Writes 100 KB values under k0, k1, ... one at a time until told to stop, refused, or `most`
 * are acknowledged. */
function writer(c: RawClient, most = Infinity): { acked: number[]; refusedWith: number | null; waiting: number | null; stop(): void; done: Promise<void> } {
  const w = {
    acked: [] as number[],
    refusedWith: null as number | null,
    waiting: null as number | null,
    stopped: false,
    stop(): void {
      w.stopped = true;
    },
    done: Promise.resolve(),
  };
  w.done = (async () => {
    for (let i = 0; !w.stopped && w.acked.length < most; i++) {
      w.waiting = i;
      const r = await c.call({ opcode: Op.SET, key: `k${i}`, extras: setExtras(i, 0), value: VALUE });
      w.waiting = null;
      if (r.status !== St.SUCCESS) {
        w.refusedWith = r.status;
        return;
      }
      w.acked.push(i);
    }
  })();
  return w;
}

async function everyAckedKeyAfterRestart(t: Test, server: ServerHandle, acked: number[], args: string[]): Promise<void> {
  await server.stop('SIGKILL');
  const again = await startServer({ dataDir: server.dataDir, args });
  t.teardown(() => again.stop('SIGKILL'));
  const c = await clientFor(t, again.port);
  const gets = await c.pipeline(...acked.map((i) => ({ opcode: Op.GET, key: `k${i}`, opaque: i })));
  const lost = gets.slice(0, acked.length).filter((r) => r.status !== St.SUCCESS || !r.value.equals(VALUE)).map((r) => r.opaque);
  t.same(lost, [], `all ${acked.length} acknowledged writes are there after SIGKILL and restart`);
}

/** A server on a small filesystem, written to by `a` until the disk is full and writes are
 * blocked; `b` is a second connection. Null where no tmpfs can be mounted. */
async function filledUp(t: Test, args: string[], mb: number, fillerMb: number): Promise<{ filler: string; server: ServerHandle; a: RawClient; b: RawClient; w: ReturnType<typeof writer> } | null> {
  const fs = smallFilesystem(t, mb, fillerMb);
  if (fs === null) return null;
  const server = await startServer({ dataDir: join(fs.dir, 'data'), args });
  t.teardown(() => server.stop('SIGKILL'));
  const a = await clientFor(t, server.port);
  const b = await clientFor(t, server.port);
  const w = writer(a);
  await until(async () => (await stat(b, 'writes_blocked')) === '1', 'the disk to fill up');
  return { filler: fs.filler, server, a, b, w };
}

t.test('--ack=persist: a write that cannot be persisted is never acknowledged; writes resume by themselves', async (t) => {
  const args = ['--ack', 'persist'];
  // The filler is over half the filesystem, so the commit log can hold less than the room its
  // removal frees: LMDB needs about the log's size again to apply it (the log goes only once
  // applied). With 3 MB of 8 a fast writer filled 4.3 MB of log before LMDB's first
  // transaction, and freeing 3 MB could never unblock it (the server said so: "this commit
  // needs about 4535944").
  const full = await filledUp(t, args, 8, 5);
  if (full === null) return;
  const { server, b, w } = full;
  t.equal(w.refusedWith, null, 'the writer was not refused: its write is held');
  t.not(w.waiting, null, 'and not acknowledged while it cannot be persisted');
  const held = w.waiting as number;
  // Read together: a block already cleared by now (a retry committed since it was seen) shows
  // as writes_blocked 0 here, one that clears during the SET as a commit after this.
  const before = await b.stats();
  const other = (await b.call({ opcode: Op.SET, key: 'other', extras: setExtras(0, 0), value: 'x' })).status;
  const cleared = before.get('writes_blocked') === '0' || Number(await stat(b, 'ep_commit_num')) > Number(before.get('ep_commit_num'));
  if (other === St.SUCCESS && cleared) {
    // A retry found room meanwhile (the apply thread deleted a log segment; seen once in CI):
    // a commit succeeded, so the block had cleared and the write was rightly taken.
    t.comment('the block cleared before the new SET; its refusal is not checked this run');
  } else {
    t.equal(other, ENOMEM, 'a new write is refused with ENOMEM');
  }
  const read = await b.call({ opcode: Op.GET, key: 'k0' });
  t.ok(read.status === St.SUCCESS && read.value.equals(VALUE), 'reads are served');
  const streamed = new Set<string>();
  const consumer = await DcpConsumer.connect('127.0.0.1', server.port, { mutation: (_vb, _seqno, key) => void streamed.add(key.toString()) }, { name: 'disk-full' });
  t.teardown(() => consumer.close());
  await consumer.stream(0);
  await until(() => w.acked.every((i) => streamed.has(`k${i}`)), 'the change stream to deliver every acknowledged write');
  t.pass(`DCP streams while writes are blocked (${streamed.size} mutations)`);
  const s = await b.stats();
  t.ok(Number(s.get('disk_errors')) > 0, `disk_errors ${s.get('disk_errors')}`);
  t.ok(Number(s.get('last_disk_error_time')) > 0, 'time of the last failure');
  t.match(server.log(), /flusher: commit of batch \d+ failed/);

  w.stop();
  unlinkSync(full.filler);
  await w.done;
  t.ok(w.acked.includes(held), `the held write (k${held}) is acknowledged once it is on disk`);
  await until(async () => (await stat(b, 'writes_blocked')) === '0', 'writes to be accepted again');
  t.equal((await b.call({ opcode: Op.SET, key: 'after', extras: setExtras(0, 0), value: 'x' })).status, St.SUCCESS, 'writes are accepted again without a restart');
  t.equal(server.proc.exitCode, null, 'the server never exited');
  t.notMatch(server.log(), /unhandled rejection|uncaught exception/, 'nothing escaped');
  await everyAckedKeyAfterRestart(t, server, w.acked, args);
});

t.test('--ack=memory: refused with ENOMEM (text: SERVER_ERROR), acknowledged writes stay readable and reach disk later', async (t) => {
  // More room freed than --ack=memory may hold uncommitted (8 MB), so the retry fits; and, as
  // above, the filler over half the filesystem, so the commit log never holds more than the
  // room its removal frees (at exactly half, a writer that filled the log before LMDB's first
  // transaction would leave LMDB no room to apply it).
  const args = ['--ack', 'memory'];
  const full = await filledUp(t, args, 24, 14);
  if (full === null) return;
  const { server, b, w } = full;
  t.ok(Number(await stat(b, 'unpersisted_bytes')) <= 8 * 1024 * 1024 + 2 * VALUE.length, 'no more than the bound was acknowledged before its commit');
  t.equal((await b.call({ opcode: Op.SET, key: 'other', extras: setExtras(0, 0), value: 'x' })).status, ENOMEM, 'a new write is refused with ENOMEM');
  const acked = [...w.acked];
  const gets = await b.pipeline(...acked.map((i) => ({ opcode: Op.GET, key: `k${i}`, opaque: i })));
  t.equal(gets.slice(0, acked.length).filter((r) => r.status === St.SUCCESS && r.value.equals(VALUE)).length, acked.length, `all ${acked.length} acknowledged writes are readable while blocked`);

  const commitsBefore = Number(await stat(b, 'ep_commit_num'));
  const text = await new Promise<string>((resolve) => {
    const s = net.connect(server.port, '127.0.0.1', () => s.write('set t 0 0 1\r\nx\r\n'));
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      if (got.endsWith('\r\n')) {
        s.destroy();
        resolve(got);
      }
    });
  });
  if (text === 'STORED\r\n' && Number(await stat(b, 'ep_commit_num')) > commitsBefore) {
    // A retry found room meanwhile (seen under CPU hogs): a commit succeeded, so the block
    // had cleared and the write was rightly taken. (The block may be back by now: that write's
    // own commit can find the disk full again, so writes_blocked says nothing here.)
    t.comment('the block cleared before the text SET; its refusal is not checked this run');
  } else {
    t.equal(text, 'SERVER_ERROR out of memory storing object\r\n', 'the text protocol answers as memcached does');
  }

  w.stop();
  unlinkSync(full.filler);
  await w.done;
  await until(async () => (await stat(b, 'writes_blocked')) === '0', 'writes to be accepted again');
  await until(async () => (await stat(b, 'unpersisted_bytes')) === '0', 'the acknowledged writes to be committed');
  t.equal((await b.call({ opcode: Op.SET, key: 'after', extras: setExtras(0, 0), value: 'x' })).status, St.SUCCESS, 'writes are accepted again without a restart');
  t.notMatch(server.log(), /unhandled rejection|uncaught exception/, 'nothing escaped');
  await everyAckedKeyAfterRestart(t, server, w.acked, args);
});

/** Fills what is left of the filesystem with one file (written until ENOSPC). */
function fillTheRest(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch {
    // ENOSPC: full.
  } finally {
    closeSync(fd);
  }
}

t.test('restart on a full disk: reads only until the new failover entries are persisted, then writes without a restart', async (t) => {
  const fs = smallFilesystem(t, 16, 0);
  if (fs === null) return;
  // Many vBuckets: the unclean restart then rewrites every vBucket state (about 2 MB), more
  // than LMDB's free pages can hold, so the persist needs room the disk does not have.
  const args = ['--ack', 'persist', '--vbuckets', '16384'];
  const first = await startServer({ dataDir: join(fs.dir, 'data'), args });
  const a = await RawClient.connect(first.port);
  // Exactly 40 (4 MB): stopped from outside, a slow poll let 70 through, whose log and LMDB
  // copies left the 16 MB disk too little room for the apply this test waits for.
  const w = writer(a, 40);
  await w.done;
  t.equal(w.acked.length, 40, '40 writes acknowledged');
  // In LMDB, not only in the commit log: replaying the log needs room the full disk will not
  // have, and this test is about persisting the failover entries.
  await until(async () => (await a.stats()).get('commit_log_unapplied_batches') === '0', 'the writes to reach LMDB');
  a.socket.destroy();
  await first.stop('SIGKILL');
  fillTheRest(fs.filler);

  const server = await startServer({ dataDir: first.dataDir, args, readyWhen: /serving reads only/ });
  t.teardown(() => server.stop('SIGKILL'));
  const b = await clientFor(t, server.port);
  const read = await b.call({ opcode: Op.GET, key: 'k0' });
  t.ok(read.status === St.SUCCESS && read.value.equals(VALUE), 'reads are served');
  t.equal((await b.call({ opcode: Op.SET, key: 'x', extras: setExtras(0, 0), value: 'x' })).status, St.ETMPFAIL, 'writes are refused: no seqno before the failover entries are on disk');
  const warm = await b.stats('warmup');
  t.equal(warm.get('ep_warmup_current_step'), 'persistVBState', 'warmup waits in persistVBState');
  t.ok(Number(warm.get('ep_warmup_persist_failures')) > 0, 'and counts its attempts');

  unlinkSync(fs.filler);
  await until(async () => (await b.stats('warmup')).get('ep_warmup_state') === 'done', 'warmup to finish once the disk has room');
  t.equal((await b.call({ opcode: Op.SET, key: 'x', extras: setExtras(0, 0), value: 'x' })).status, St.SUCCESS, 'writes are enabled without a restart');
  t.equal(server.proc.exitCode, null, 'the server never exited');
  t.match(server.log(), /warmup: vBucket states persisted after \d+ failed attempts/);
  await everyAckedKeyAfterRestart(t, server, w.acked, args);
});
