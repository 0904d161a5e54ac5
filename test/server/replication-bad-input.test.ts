/**
 * Bad input to the commands this change added, each answered with its status over a real
 * socket, the connection kept (kv_engine's rule for its commands) and the server unharmed:
 * GET_REPLICA, GET_CLUSTER_CONFIG, DCP_ADD_STREAM, a takeover stream request, SASL_AUTH and
 * SASL_STEP without -S.
 */
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, req, setExtras, u32 } from '../fixtures/frames.js';
import { startServer } from '../fixtures/server.js';

const GET_REPLICA = 0x83;
const GET_CLUSTER_CONFIG = 0xb5;
const DCP_ADD_STREAM = 0x51;
const DCP_OPEN = 0x50;
const DCP_STREAM_REQ = 0x53;
const SET_VBUCKET = 0x3d;
const SASL_AUTH = 0x21;
const SASL_STEP = 0x22;
const NOT_SUPPORTED = 0x83;

function streamExtras(flags: number, end: bigint): Buffer {
  const b = Buffer.alloc(48);
  b.writeUInt32BE(flags, 0);
  b.writeBigUInt64BE(end, 16);
  return b;
}

t.test('bad input to the replication and SASL commands', async (t) => {
  const server = await startServer({ args: ['--vbuckets', '4'] });
  t.teardown(() => server.stop('SIGKILL'));
  const c = await RawClient.connect(server.port);
  t.teardown(() => c.end());

  t.equal((await c.call({ opcode: GET_REPLICA })).status, St.EINVAL, 'GET_REPLICA without a key: EINVAL');
  t.equal((await c.call({ opcode: GET_REPLICA, key: 'k', value: 'v' })).status, St.EINVAL, 'GET_REPLICA with a value: EINVAL');
  t.equal((await c.call({ opcode: GET_REPLICA, key: 'k', vbucket: 1 })).status, St.NOT_MY_VBUCKET, 'GET_REPLICA on an active vBucket: NOT_MY_VBUCKET');
  t.equal((await c.call({ opcode: GET_REPLICA, key: 'k', vbucket: 99 })).status, St.NOT_MY_VBUCKET, 'GET_REPLICA on no vBucket: NOT_MY_VBUCKET');
  t.equal((await c.call({ opcode: GET_CLUSTER_CONFIG, key: 'x' })).status, St.EINVAL, 'GET_CLUSTER_CONFIG with a key: EINVAL');
  t.equal((await c.call({ opcode: DCP_ADD_STREAM })).status, St.EINVAL, 'DCP_ADD_STREAM without its flags: EINVAL');
  t.equal((await c.call({ opcode: DCP_ADD_STREAM, extras: u32(0) })).status, NOT_SUPPORTED, 'DCP_ADD_STREAM without TAKEOVER: NOT_SUPPORTED');
  t.equal((await c.call({ opcode: DCP_ADD_STREAM, extras: u32(1) })).status, NOT_SUPPORTED, 'a takeover on a node that follows no active: NOT_SUPPORTED');
  t.equal((await c.call({ opcode: SASL_AUTH, key: 'PLAIN', value: '\0a\0b' })).status, NOT_SUPPORTED, 'SASL_AUTH without -S: NOT_SUPPORTED');
  t.equal((await c.call({ opcode: SASL_STEP, key: 'SCRAM-SHA-256', value: 'x' })).status, 0x20, 'SASL_STEP with nothing begun: AUTH_ERROR');

  const d = await RawClient.connect(server.port);
  t.teardown(() => d.end());
  t.equal((await d.call({ opcode: DCP_OPEN, key: 'p', extras: Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]) })).status, St.SUCCESS);
  t.equal((await c.call({ opcode: SET_VBUCKET, vbucket: 2, extras: Buffer.from([2]) })).status, St.SUCCESS, 'vb 2 made a replica');
  t.equal((await d.call({ opcode: DCP_STREAM_REQ, vbucket: 2, extras: streamExtras(1, 0xffffffffffffffffn) })).status, St.EINVAL, 'a takeover stream of a replica vBucket: EINVAL');
  t.equal((await d.call({ opcode: DCP_STREAM_REQ, vbucket: 1, extras: streamExtras(1, 10n) })).status, St.EINVAL, 'a takeover stream with an end seqno: EINVAL');

  // SASL_AUTH is one of memcached's classic commands: a malformed one is answered EINVAL and
  // the connection closed.
  const e = await RawClient.connect(server.port);
  e.send(req({ opcode: SASL_AUTH }), req({ opcode: Op.NOOP }));
  const got = await e.untilClosed();
  t.same(got.map((r) => r.status), [St.EINVAL], 'SASL_AUTH without a mechanism: EINVAL, then closed');

  t.equal((await c.call({ opcode: Op.SET, key: 'still', extras: setExtras(0, 0), value: 'up' })).status, St.SUCCESS, 'the server and the connection carry on');
  t.equal((await c.call({ opcode: Op.GET, key: 'still' })).value.toString(), 'up');
});
