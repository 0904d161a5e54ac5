/**
 * --ack=memory acknowledges a write before its commit only while commits keep up: once the
 * oldest uncommitted write is more than 20 ms old (README, "after kill -9"), replies wait for
 * their commit, and `ack_memory_holds` counts each time that happened. Under --ack=persist every
 * reply waits anyway, so nothing is counted.
 *
 * LMCACHED_COMMIT_REPLY_DELAY_MS keeps each batch in flight (sent, not known committed) for
 * seconds, so the second write meets the back pressure every time; the commit times
 * (ep_commit_time and the others) then show it.
 */
import t, { type Test } from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, req, setExtras } from '../fixtures/frames.js';
import { serverFor } from '../fixtures/harness.js';
import { until } from '../fixtures/wait.js';

const DELAY = { LMCACHED_COMMIT_REPLY_DELAY_MS: '3000' };
const set = (key: string): { opcode: number; key: string; extras: Buffer; value: string } => ({ opcode: Op.SET, key, extras: setExtras(0, 0), value: `${key}-value` });

async function holds(c: RawClient): Promise<number> {
  return Number((await c.stats()).get('ack_memory_holds'));
}

/** A server whose first write ('first') is acknowledged and whose commit is in flight for
 * seconds, more than the 20 ms lag bound ago (a condition to create, not a timing asserted). */
async function lagging(t: Test): Promise<{ writer: RawClient; watcher: RawClient }> {
  const server = await serverFor(t, { args: ['--ack', 'memory'], env: DELAY });
  const writer = await RawClient.connect(server.port);
  const watcher = await RawClient.connect(server.port);
  t.teardown(() => {
    writer.end();
    watcher.end();
  });
  t.equal(await holds(watcher), 0, 'no hold yet');
  t.equal((await writer.call(set('first'))).status, St.SUCCESS, 'the first write is acknowledged from memory');
  t.equal(await holds(watcher), 0, 'without waiting for its commit');
  await until(async () => {
    const s = await watcher.stats();
    return s.get('flusher_backlog') === '0' && Number(s.get('unpersisted_bytes')) > 0;
  }, 'the first batch to be in flight');
  await new Promise((r) => setTimeout(r, 100));
  return { writer, watcher };
}

t.test('--ack=memory: a write while a commit lags is answered after its commit, and counted', async (t) => {
  const { writer, watcher } = await lagging(t);
  let answered = false;
  const second = writer.call(set('second')).then((r) => {
    answered = true;
    return r;
  });
  await until(async () => (await holds(watcher)) >= 1, 'the second reply to be held');
  t.notOk(answered, 'the second write is not acknowledged while its commit is outstanding');
  t.equal((await second).status, St.SUCCESS, 'and is acknowledged once committed');
  t.equal((await watcher.stats()).get('unpersisted_bytes'), '0', 'by then nothing acknowledged is uncommitted');
  const g = await watcher.call({ opcode: Op.GET, key: 'second' });
  t.equal(g.value.toString(), 'second-value');
  // Both commits were answered 3 s late (the hook), so each timed at least that (less 100 ms
  // for timers that fire a little early).
  const timed = await watcher.stats();
  t.ok(Number(timed.get('ep_commit_num')) >= 2, `the commits are counted (${timed.get('ep_commit_num')})`);
  t.ok(Number(timed.get('ep_commit_time')) >= 2900, `the last commit's time (${timed.get('ep_commit_time')} ms)`);
  t.ok(Number(timed.get('commit_time_max_ms')) >= Number(timed.get('ep_commit_time')), 'the longest is at least the last');
  t.ok(Number(timed.get('ep_commit_time_total')) >= 2 * 2900, `the total (${timed.get('ep_commit_time_total')} ms)`);
  await watcher.stats('reset');
  t.equal(await holds(watcher), 0, 'stats reset zeroes the counter');
  const reset = await watcher.stats();
  t.same([reset.get('ep_commit_num'), reset.get('ep_commit_time_total'), reset.get('commit_time_max_ms')], ['0', '0', '0'], 'and the commit counts and times');
});

t.test('--ack=memory: while commits lag, a pipelined chunk is answered whole after its commit, in order', async (t) => {
  // The lag is judged when the chunk's replies are written: a read answered before the first
  // write of the chunk waits with it, and nothing of the chunk goes out early.
  const { writer, watcher } = await lagging(t);
  let answered = false;
  // One write, so one read: GET, SET, SET, GET, NOOP.
  const chunk = [{ opcode: Op.GET, key: 'first' }, set('a'), set('b'), { opcode: Op.GET, key: 'a' }, { opcode: Op.NOOP }];
  writer.send(Buffer.concat(chunk.map(req)));
  // Its first reply alone: none may come before the commit, not even the GET's before the writes.
  const replies = writer.read(1).then(async (first) => {
    answered = true;
    return [...first, ...(await writer.read(chunk.length - 1))];
  });
  await until(async () => (await holds(watcher)) >= 1, 'the chunk to be held');
  await new Promise((r) => setTimeout(r, 100));
  t.notOk(answered, 'no reply of the chunk is written before its commit');
  const r = await replies;
  t.same(r.map((x) => x.opcode), chunk.map((x) => x.opcode), 'all answered after it, in request order');
  t.same(r.map((x) => x.status), chunk.map(() => St.SUCCESS));
  t.same([r[0].value.toString(), r[3].value.toString()], ['first-value', 'a-value'], 'the reads as read then');
  t.equal((await watcher.stats()).get('unpersisted_bytes'), '0', 'by then nothing acknowledged is uncommitted');
});

t.test('--ack=persist: every reply waits for its commit, none is counted as back pressure', async (t) => {
  const server = await serverFor(t, { args: ['--ack', 'persist'], env: { LMCACHED_COMMIT_REPLY_DELAY_MS: '200' } });
  const c = await RawClient.connect(server.port);
  t.teardown(() => c.end());
  for (const key of ['a', 'b', 'c']) t.equal((await c.call(set(key))).status, St.SUCCESS);
  t.equal(await holds(c), 0);
});
