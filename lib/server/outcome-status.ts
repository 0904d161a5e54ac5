/**
 * The one place engine outcomes become wire statuses, per opcode (memcached
 * complete_update_bin: REPLACE of a missing key is KEY_ENOENT, APPEND/PREPEND is NOT_STORED).
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
  }
}
