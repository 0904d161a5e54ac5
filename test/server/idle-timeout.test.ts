/**
 * memcached's `-o idle_timeout=N`: a client connection that sends nothing for N seconds is
 * closed; one that keeps talking stays open; without the option nothing is closed for idling.
 */
import t from 'tap';
import { Op, St } from '../fixtures/frames.js';
import { RawClient } from '../fixtures/client.js';
import { clientFor, serverFor } from '../fixtures/harness.js';
import { until } from '../fixtures/wait.js';

t.test('-o idle_timeout=1 closes an idle connection, keeps a busy one', async (t) => {
  const server = await serverFor(t, { args: ['-o', 'idle_timeout=1'] });
  const busy = await clientFor(t, server.port);
  const idle = await RawClient.connect(server.port);
  t.equal((await idle.call({ opcode: Op.NOOP })).status, St.SUCCESS, 'the idle one worked at first');
  // One assertion for the whole wait, so the test's count does not depend on how many polls
  // it took (CI compares counts between runs).
  const busyStatuses = new Set<number>();
  await until(async () => {
    busyStatuses.add((await busy.call({ opcode: Op.NOOP })).status);
    return idle.closed;
  }, 'the idle connection to be closed');
  t.same([...busyStatuses], [St.SUCCESS], 'the busy connection was answered at every poll');
  t.ok(idle.closed, 'idle connection closed by the server');
  t.equal(busy.closed, false, 'the busy connection is still open');
  t.equal((await busy.stats('settings')).get('idle_timeout'), '1');
});

t.test('without the option an idle connection stays open', async (t) => {
  const server = await serverFor(t);
  const c = await clientFor(t, server.port);
  await new Promise((r) => setTimeout(r, 2500));
  t.equal((await c.call({ opcode: Op.NOOP })).status, St.SUCCESS, 'still served after 2.5 s of silence');
});
