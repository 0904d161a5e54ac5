/**
 * One generic request-shape check driven by the opcode table (kv_engine verify_header), so
 * handlers never see malformed input. Returns null when the frame fits, else a context string.
 */
import type { Frame } from './framer.js';
import type { OpcodeInfo } from './opcodes.js';

/** memcached's KEY_MAX_LENGTH. */
export const KEY_MAX_LENGTH = 250;

export function checkRequest(frame: Frame, info: OpcodeInfo): string | null {
  const problem = checkShape(frame, info.shape);
  if (problem !== null || info.check === undefined) return problem;
  return info.check(frame.buf, frame.valueOffset, frame.valueLength, frame.buf, frame.extrasOffset, frame.extrasLength);
}

export function checkShape(frame: Frame, shape: OpcodeInfo['shape']): string | null {
  if (!shape.extras.includes(frame.extrasLength)) {
    return `extras length ${frame.extrasLength}, expected ${shape.extras.join(' or ')}`;
  }
  if (shape.key === 'zero' && frame.keyLength !== 0) return 'request must not have a key';
  if (shape.key === 'nonzero' && frame.keyLength === 0) return 'request must have a key';
  if (frame.keyLength > KEY_MAX_LENGTH) return `key longer than ${KEY_MAX_LENGTH} bytes`;
  if (shape.value === 'zero' && frame.valueLength !== 0) return 'request must not have a value';
  if (shape.value === 'nonzero' && frame.valueLength === 0) return 'request must have a value';
  return null;
}
