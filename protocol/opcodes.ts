/**
 * The opcode table: one entry per opcode we know, named as in memcached's protocol_binary.h
 * (kv_engine docs/BinaryProtocol.md "Command Opcodes"). Quiet/loud pairs, the request shape the
 * validator enforces, and the family used for oversized bodies all come from here.
 */
import { EXTRAS_LENGTH } from './extras.js';

/** What a request of this opcode may carry; `extras` lists the allowed extras lengths. */
export interface Shape {
  extras: readonly number[];
  key: 'zero' | 'nonzero' | 'any';
  value: 'zero' | 'nonzero' | 'any';
}

export interface OpcodeInfo {
  code: number;
  name: string;
  /** memcached's classic commands close the connection on a malformed request; kv_engine's
   * additions answer EINVAL and keep it. */
  closeOnInvalid: boolean;
  /** A check the shape cannot express; returns a context string on failure. */
  check?: (value: Buffer, valueOffset: number, valueLength: number, extras: Buffer, extrasOffset: number, extrasLength: number) => string | null;
  /** The loud twin of a quiet opcode, or the opcode itself. */
  loud: number;
  quiet: boolean;
  shape: Shape;
  /** True for commands whose value is item data, so an oversized body means E2BIG. */
  carriesItem: boolean;
}

export const OP = {
  GET: 0x00,
  SET: 0x01,
  ADD: 0x02,
  REPLACE: 0x03,
  DELETE: 0x04,
  INCREMENT: 0x05,
  DECREMENT: 0x06,
  QUIT: 0x07,
  FLUSH: 0x08,
  GETQ: 0x09,
  NOOP: 0x0a,
  VERSION: 0x0b,
  GETK: 0x0c,
  GETKQ: 0x0d,
  APPEND: 0x0e,
  PREPEND: 0x0f,
  STAT: 0x10,
  SETQ: 0x11,
  ADDQ: 0x12,
  REPLACEQ: 0x13,
  DELETEQ: 0x14,
  INCREMENTQ: 0x15,
  DECREMENTQ: 0x16,
  QUITQ: 0x17,
  FLUSHQ: 0x18,
  APPENDQ: 0x19,
  PREPENDQ: 0x1a,
  VERBOSITY: 0x1b,
  TOUCH: 0x1c,
  GAT: 0x1d,
  GATQ: 0x1e,
  GATK: 0x23,
  GATKQ: 0x24,
  SASL_LIST_MECHS: 0x20,
  SASL_AUTH: 0x21,
  SASL_STEP: 0x22,
  HELLO: 0x1f,
  SET_VBUCKET: 0x3d,
  GET_VBUCKET: 0x3e,
  DEL_VBUCKET: 0x3f,
  GET_ALL_VB_SEQNOS: 0x48,
  OBSERVE_SEQNO: 0x91,
  GET_FAILOVER_LOG: 0x96,
  GET_REPLICA: 0x83,
  GET_CLUSTER_CONFIG: 0xb5,
  DCP_OPEN: 0x50,
  DCP_CLOSE_STREAM: 0x52,
  DCP_STREAM_REQ: 0x53,
  DCP_GET_FAILOVER_LOG: 0x54,
  DCP_STREAM_END: 0x55,
  DCP_SNAPSHOT_MARKER: 0x56,
  DCP_MUTATION: 0x57,
  DCP_DELETION: 0x58,
  DCP_EXPIRATION: 0x59,
  DCP_ADD_STREAM: 0x51,
  DCP_FLUSH: 0x5a,
  DCP_SET_VBUCKET_STATE: 0x5b,
  DCP_NOOP: 0x5c,
  DCP_BUFFER_ACKNOWLEDGEMENT: 0x5d,
  DCP_CONTROL: 0x5e,
} as const;

const NONE: Shape = { extras: [0], key: 'zero', value: 'zero' };
const KEY_ONLY: Shape = { extras: [0], key: 'nonzero', value: 'zero' };
const STORE: Shape = { extras: [EXTRAS_LENGTH.store], key: 'nonzero', value: 'any' };
const CONCAT: Shape = { extras: [0], key: 'nonzero', value: 'any' };
const ARITH: Shape = { extras: [EXTRAS_LENGTH.arith], key: 'nonzero', value: 'zero' };
const TOUCH_SHAPE: Shape = { extras: [EXTRAS_LENGTH.touch], key: 'nonzero', value: 'zero' };
const FLUSH_SHAPE: Shape = { extras: [0, EXTRAS_LENGTH.flush], key: 'zero', value: 'zero' };

/** [name, code, loud twin or -1, shape, carriesItem] for every opcode we serve. */
const DEFINITIONS: ReadonlyArray<readonly [string, number, number, Shape, boolean]> = [
  ['GET', OP.GET, -1, KEY_ONLY, false],
  ['GETQ', OP.GETQ, OP.GET, KEY_ONLY, false],
  ['GETK', OP.GETK, -1, KEY_ONLY, false],
  ['GETKQ', OP.GETKQ, OP.GETK, KEY_ONLY, false],
  ['SET', OP.SET, -1, STORE, true],
  ['SETQ', OP.SETQ, OP.SET, STORE, true],
  ['ADD', OP.ADD, -1, STORE, true],
  ['ADDQ', OP.ADDQ, OP.ADD, STORE, true],
  ['REPLACE', OP.REPLACE, -1, STORE, true],
  ['REPLACEQ', OP.REPLACEQ, OP.REPLACE, STORE, true],
  ['DELETE', OP.DELETE, -1, KEY_ONLY, false],
  ['DELETEQ', OP.DELETEQ, OP.DELETE, KEY_ONLY, false],
  ['INCREMENT', OP.INCREMENT, -1, ARITH, false],
  ['INCREMENTQ', OP.INCREMENTQ, OP.INCREMENT, ARITH, false],
  ['DECREMENT', OP.DECREMENT, -1, ARITH, false],
  ['DECREMENTQ', OP.DECREMENTQ, OP.DECREMENT, ARITH, false],
  ['APPEND', OP.APPEND, -1, CONCAT, true],
  ['APPENDQ', OP.APPENDQ, OP.APPEND, CONCAT, true],
  ['PREPEND', OP.PREPEND, -1, CONCAT, true],
  ['PREPENDQ', OP.PREPENDQ, OP.PREPEND, CONCAT, true],
  ['QUIT', OP.QUIT, -1, NONE, false],
  ['QUITQ', OP.QUITQ, OP.QUIT, NONE, false],
  ['FLUSH', OP.FLUSH, -1, FLUSH_SHAPE, false],
  ['FLUSHQ', OP.FLUSHQ, OP.FLUSH, FLUSH_SHAPE, false],
  ['NOOP', OP.NOOP, -1, NONE, false],
  ['VERSION', OP.VERSION, -1, NONE, false],
  ['STAT', OP.STAT, -1, { extras: [0], key: 'any', value: 'zero' }, false],
  ['VERBOSITY', OP.VERBOSITY, -1, { extras: [EXTRAS_LENGTH.verbosity], key: 'zero', value: 'zero' }, false],
  ['TOUCH', OP.TOUCH, -1, TOUCH_SHAPE, false],
  ['GAT', OP.GAT, -1, TOUCH_SHAPE, false],
  ['GATQ', OP.GATQ, OP.GAT, TOUCH_SHAPE, false],
  ['GATK', OP.GATK, -1, TOUCH_SHAPE, false],
  ['GATKQ', OP.GATKQ, OP.GATK, TOUCH_SHAPE, false],
  ['SASL_LIST_MECHS', OP.SASL_LIST_MECHS, -1, NONE, false],
  ['SASL_AUTH', OP.SASL_AUTH, -1, { extras: [0], key: 'nonzero', value: 'any' }, false],
  ['SASL_STEP', OP.SASL_STEP, -1, { extras: [0], key: 'nonzero', value: 'any' }, false],
];

type Check = NonNullable<OpcodeInfo['check']>;

/** kv_engine commands (docs/BinaryProtocol.md, mcbp_validators.cc): [name, code, shape, check]. */
const KV_DEFINITIONS: ReadonlyArray<readonly [string, number, Shape, Check | undefined]> = [
  ['HELLO', OP.HELLO, { extras: [0], key: 'any', value: 'any' }, (_v, _o, len) => (len % 2 === 0 ? null : 'HELLO features are 2 bytes each')],
  ['SET_VBUCKET', OP.SET_VBUCKET, { extras: [EXTRAS_LENGTH.setVBucket, 4], key: 'zero', value: 'any' }, (_v, _o, _l, x, xo, xl) => {
    const state = xl === 1 ? x[xo] : x.readUInt32BE(xo);
    return state >= 1 && state <= 4 ? null : `invalid vbucket state ${state}`;
  }],
  ['GET_VBUCKET', OP.GET_VBUCKET, { extras: [0], key: 'zero', value: 'zero' }, undefined],
  ['DEL_VBUCKET', OP.DEL_VBUCKET, { extras: [0], key: 'zero', value: 'any' }, undefined],
  ['GET_ALL_VB_SEQNOS', OP.GET_ALL_VB_SEQNOS, { extras: [0, EXTRAS_LENGTH.getAllVbSeqnos], key: 'zero', value: 'zero' }, (_v, _o, _l, x, xo, xl) => {
    if (xl === 0) return null;
    const state = x.readUInt32BE(xo);
    return state <= 4 ? null : 'Request vbucket state invalid';
  }],
  ['OBSERVE_SEQNO', OP.OBSERVE_SEQNO, { extras: [0], key: 'zero', value: 'nonzero' }, (_v, _o, len) => (len === 8 ? null : 'Request value must be of length 8')],
  ['GET_FAILOVER_LOG', OP.GET_FAILOVER_LOG, { extras: [0], key: 'zero', value: 'zero' }, undefined],
  ['GET_REPLICA', OP.GET_REPLICA, { extras: [0], key: 'nonzero', value: 'zero' }, undefined],
  ['GET_CLUSTER_CONFIG', OP.GET_CLUSTER_CONFIG, { extras: [0], key: 'zero', value: 'zero' }, undefined],
  // DCP (docs/dcp/documentation/commands): what a consumer sends to a producer.
  ['DCP_OPEN', OP.DCP_OPEN, { extras: [EXTRAS_LENGTH.dcpOpen], key: 'nonzero', value: 'any' }, undefined],
  // On a replica node: take this vBucket over from its active (flag TAKEOVER), as ns_server asks.
  ['DCP_ADD_STREAM', OP.DCP_ADD_STREAM, { extras: [4], key: 'zero', value: 'zero' }, undefined],
  ['DCP_CONTROL', OP.DCP_CONTROL, { extras: [0], key: 'nonzero', value: 'any' }, undefined],
  ['DCP_STREAM_REQ', OP.DCP_STREAM_REQ, { extras: [EXTRAS_LENGTH.dcpStreamReq], key: 'zero', value: 'any' }, undefined],
  ['DCP_CLOSE_STREAM', OP.DCP_CLOSE_STREAM, { extras: [0], key: 'zero', value: 'zero' }, undefined],
  ['DCP_GET_FAILOVER_LOG', OP.DCP_GET_FAILOVER_LOG, { extras: [0], key: 'zero', value: 'zero' }, undefined],
  ['DCP_BUFFER_ACKNOWLEDGEMENT', OP.DCP_BUFFER_ACKNOWLEDGEMENT, { extras: [EXTRAS_LENGTH.dcpBufferAck], key: 'zero', value: 'zero' }, undefined],
  ['DCP_NOOP', OP.DCP_NOOP, { extras: [0], key: 'zero', value: 'zero' }, undefined],
];

/** 256 slots, undefined for opcodes we do not serve. */
export const OPCODES: ReadonlyArray<OpcodeInfo | undefined> = (() => {
  const table: Array<OpcodeInfo | undefined> = new Array(256).fill(undefined);
  for (const [name, code, loud, shape, carriesItem] of DEFINITIONS) {
    table[code] = { code, name, loud: loud < 0 ? code : loud, quiet: loud >= 0, shape, carriesItem, closeOnInvalid: true };
  }
  for (const [name, code, shape, check] of KV_DEFINITIONS) {
    table[code] = { code, name, loud: code, quiet: false, shape, carriesItem: false, closeOnInvalid: false, check };
  }
  return table;
})();

export function opcodeName(opcode: number): string {
  return OPCODES[opcode]?.name ?? `0x${opcode.toString(16).padStart(2, '0')}`;
}
