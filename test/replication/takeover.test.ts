/**
 * A planned switchover loses nothing: kv_engine's takeover stream (DCP_ADD_STREAM with the
 * TAKEOVER flag sent to the replica node; markers with the ACK flag answered;
 * DCP_SET_VBUCKET_STATE pending, then active) moves every vBucket from A to B under a write
 * load, A becomes B's replica, and then every vBucket moves back. Writers send each write to the
 * node they believe active and go to the other on NOT_MY_VBUCKET or ETMPFAIL; every write
 * either node acknowledged is there at the end, on the active and on its replica.
 */
import t, { type Test } from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras, u32 } from '../fixtures/frames.js';
import { caughtUp, startPair, vbHighs, VBUCKETS } from '../fixtures/pair.js';
import { until } from '../fixtures/wait.js';

const DCP_ADD_STREAM = 0x51;
const GET_REPLICA = 0x83;
const TAKEOVER = 1;

interface Writers {
  acked: Map<string, string>;
  stop(): Promise<void>;
}

function startWriters(ports: number[], count: number): Writers {
  const acked = new Map<string, string>();
  let stopping = false;
  const loops = Array.from({ length: count }, async (_, w) => {
    const clients = await Promise.all(ports.map((p) => RawClient.connect(p)));
    let node = 0;
    for (let i = 0; !stopping; i++) {
      const key = `w${w}-${i}`;
      const vbucket = i % VBUCKETS;
      for (;;) {
        const r = await clients[node].call({ opcode: Op.SET, key, vbucket, extras: setExtras(0, 0), value: `${key}!` });
        if (r.status === St.SUCCESS) {
          acked.set(`${vbucket}/${key}`, `${key}!`);
          break;
        }
        if (r.status !== St.NOT_MY_VBUCKET && r.status !== St.ETMPFAIL) throw new Error(`SET ${key}: status ${r.status}`);
        node = 1 - node;
        await new Promise((r2) => setTimeout(r2, 2));
      }
    }
    for (const c of clients) c.end();
  });
  return { acked, stop: async () => ((stopping = true), void (await Promise.all(loops))) };
}

async function takeOver(t: Test, port: number, vbucket: number): Promise<void> {
  const c = await RawClient.connect(port);
  const r = await c.call({ opcode: DCP_ADD_STREAM, vbucket, extras: u32(TAKEOVER) });
  c.end();
  t.equal(r.status, St.SUCCESS, `vb ${vbucket} taken over by the node on port ${port} ${r.value.toString()}`);
}

async function states(port: number): Promise<string[]> {
  return [...(await vbHighs(port)).values()].map((v) => v.state);
}

t.test('every vBucket moves A → B and back under load; no acknowledged write is lost', async (t) => {
  const { pa, pb } = await startPair(t);
  await until(async () => {
    const c = await RawClient.connect(pb);
    const streaming = (await c.stats('replication')).get('vb_3:streaming');
    c.end();
    return streaming === '1';
  }, 'B to follow A');

  const writers = startWriters([pa, pb], 3);
  await new Promise((r) => setTimeout(r, 300));
  for (let vb = 0; vb < VBUCKETS; vb++) await takeOver(t, pb, vb);
  t.same(await states(pb), Array(VBUCKETS).fill('active'), 'B holds every vBucket as active');
  await until(async () => (await states(pa)).every((s) => s === 'replica'), 'A to become B\'s replica');
  await new Promise((r) => setTimeout(r, 300));
  await until(async () => {
    const c = await RawClient.connect(pa);
    const s = await c.stats('replication');
    c.end();
    return [...Array(VBUCKETS).keys()].every((vb) => s.get(`vb_${vb}:streaming`) === '1');
  }, 'A to stream every vBucket from B');
  for (let vb = 0; vb < VBUCKETS; vb++) await takeOver(t, pa, vb);
  t.same(await states(pa), Array(VBUCKETS).fill('active'), 'A holds every vBucket as active again');
  await until(async () => (await states(pb)).every((s) => s === 'replica'), 'B to become A\'s replica again');
  await new Promise((r) => setTimeout(r, 300));
  await writers.stop();
  t.ok(writers.acked.size > 100, `${writers.acked.size} writes acknowledged during the moves`);

  await caughtUp(pa, pb);
  const ca = await RawClient.connect(pa);
  const cb = await RawClient.connect(pb);
  const missingA: string[] = [];
  const missingB: string[] = [];
  for (const [id, value] of writers.acked) {
    const [vb, key] = [Number(id.slice(0, id.indexOf('/'))), id.slice(id.indexOf('/') + 1)];
    if ((await ca.call({ opcode: Op.GET, key, vbucket: vb })).value.toString() !== value) missingA.push(id);
    if ((await cb.call({ opcode: GET_REPLICA, key, vbucket: vb })).value.toString() !== value) missingB.push(id);
  }
  ca.end();
  cb.end();
  t.same(missingA, [], 'every acknowledged write is on the active');
  t.same(missingB, [], 'and on its replica');
});
