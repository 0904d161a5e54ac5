/**
 * The one place engine outcomes become replies: binary statuses per opcode (memcached
 * complete_update_bin: REPLACE of a missing key is KEY_ENOENT, APPEND/PREPEND is NOT_STORED),
 * and the text protocol's reply lines per command (memcached proto_text.c).
 */
import { OP } from '../../protocol/opcodes.js';
import { STATUS_CODE } from '../../protocol/status.js';
import { Outcome } from '../engine/outcome.js';

export function statusOf(outcome: Outcome, loudOpcode: number): number {
  switch (outcome) {
    case Outcome.Success:
      return STATUS_CODE.SUCCESS;
    case Outcome.Exists:
      return STATUS_CODE.KEY_EEXISTS;
    case Outcome.NotFound:
      return STATUS_CODE.KEY_ENOENT;
    case Outcome.NotStored:
      return loudOpcode === OP.REPLACE ? STATUS_CODE.KEY_ENOENT : STATUS_CODE.NOT_STORED;
    case Outcome.TooLarge:
      return STATUS_CODE.E2BIG;
    case Outcome.NonNumeric:
      return STATUS_CODE.DELTA_BADVAL;
    case Outcome.NotMyVBucket:
      return STATUS_CODE.NOT_MY_VBUCKET;
    case Outcome.TempFail:
      return STATUS_CODE.ETMPFAIL;
    // memcached's answer when it cannot store an item (binary ENOMEM, text "out of memory").
    case Outcome.WritesBlocked:
      return STATUS_CODE.ENOMEM;
  }
}

/** Text commands whose outcome becomes a reply line (incr/decr answer their value on success). */
export type TextReplyCommand = 'store' | 'cas' | 'delete' | 'touch' | 'arith' | 'flush_all' | 'get';

const TEXT_SUCCESS: Record<TextReplyCommand, string> = {
  store: 'STORED',
  cas: 'STORED',
  delete: 'DELETED',
  touch: 'TOUCHED',
  arith: '',
  flush_all: 'OK',
  get: 'END',
};

export function textReplyOf(outcome: Outcome, command: TextReplyCommand): string {
  switch (outcome) {
    case Outcome.Success:
      return TEXT_SUCCESS[command];
    case Outcome.Exists:
      return command === 'cas' ? 'EXISTS' : 'NOT_STORED';
    case Outcome.NotFound:
      return 'NOT_FOUND';
    case Outcome.NotStored:
      return 'NOT_STORED';
    case Outcome.TooLarge:
      return 'SERVER_ERROR object too large for cache';
    case Outcome.NonNumeric:
      return 'CLIENT_ERROR cannot increment or decrement non-numeric value';
    // No reply word for these in the text protocol.
    case Outcome.TempFail:
      return 'SERVER_ERROR temporary failure';
    case Outcome.NotMyVBucket:
      return 'SERVER_ERROR vbucket 0 is not active';
    case Outcome.WritesBlocked:
      return 'SERVER_ERROR out of memory storing object';
  }
}
