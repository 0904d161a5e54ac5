/**
 * Clients find the active: GET_CLUSTER_CONFIG (0xb5) and the body of NOT_MY_VBUCKET carry the
 * pair's vBucket map in kv_engine's bucket-config format (server list, vBucket → [active,
 * replica] indexes), and both nodes agree on it, before and after a vBucket moves.
 */
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras, u32 } from '../fixtures/frames.js';
import { startPair, VBUCKETS } from '../fixtures/pair.js';
import { until } from '../fixtures/wait.js';

const GET_CLUSTER_CONFIG = 0xb5;
const DCP_ADD_STREAM = 0x51;

interface Config {
  rev: number;
  nodeLocator: string;
  vBucketServerMap: { hashAlgorithm: string; serverList: string[]; vBucketMap: number[][] };
}

async function config(port: number): Promise<Config> {
  const c = await RawClient.connect(port);
  try {
    const r = await c.call({ opcode: GET_CLUSTER_CONFIG });
    if (r.status !== St.SUCCESS) throw new Error(`status ${r.status}`);
    return JSON.parse(r.value.toString()) as Config;
  } finally {
    c.end();
  }
}

/** The map with server names instead of indexes, comparable across nodes. */
function named(c: Config): Array<Array<string | null>> {
  const list = c.vBucketServerMap.serverList;
  return c.vBucketServerMap.vBucketMap.map((chain) => chain.map((i) => (i < 0 ? null : list[i])));
}

t.test('the pair\'s vBucket map, from either node, before and after a takeover', async (t) => {
  const { pa, pb } = await startPair(t);
  const A = `127.0.0.1:${pa}`;
  const B = `127.0.0.1:${pb}`;
  await until(async () => (await config(pa)).vBucketServerMap.serverList.length === 2, 'A to see its replica');

  const onA = await config(pa);
  t.equal(onA.nodeLocator, 'vbucket');
  t.equal(onA.vBucketServerMap.hashAlgorithm, 'CRC');
  t.same(onA.vBucketServerMap.serverList, [A, B].sort(), 'both nodes listed');
  t.same(named(onA), Array(VBUCKETS).fill([A, B]), 'every vBucket: active on A, replica on B');
  t.same(named(await config(pb)), named(onA), 'B says the same');

  const c = await RawClient.connect(pb);
  t.teardown(() => c.end());
  const nmvb = await c.call({ opcode: Op.SET, key: 'k', vbucket: 2, extras: setExtras(0, 0), value: 'v' });
  t.equal(nmvb.status, St.NOT_MY_VBUCKET);
  t.same(named(JSON.parse(nmvb.value.toString()) as Config)[2], [A, B], 'NOT_MY_VBUCKET carries the map: vb 2 is active on A');

  t.equal((await c.call({ opcode: DCP_ADD_STREAM, vbucket: 0, extras: u32(1) })).status, St.SUCCESS, 'vb 0 moved to B');
  await until(async () => named(await config(pa))[0][0] === B, 'A to show vb 0 on B');
  // B learns of its new replica when A's stream for vb 0 reaches it, which may come after A
  // already shows the move.
  await until(async () => named(await config(pb))[0][1] === A, 'B to list A as vb 0\'s replica');
  const after = await config(pb);
  t.same(named(after)[0], [B, A], 'vb 0: active on B, replica on A');
  t.same(named(after)[1], [A, B], 'vb 1 unchanged');
  t.ok(after.rev > 1, `the map's rev moved on (${after.rev})`);
});
