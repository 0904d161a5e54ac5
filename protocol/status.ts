/**
 * Response status codes (memcached protocol_binary.h, kv_engine docs/BinaryProtocol.md
 * "Response Status"), with the default error text memcached sends in the body.
 */

export const STATUS_CODE = {
  SUCCESS: 0x00,
  KEY_ENOENT: 0x01,
  KEY_EEXISTS: 0x02,
  E2BIG: 0x03,
  EINVAL: 0x04,
  NOT_STORED: 0x05,
  DELTA_BADVAL: 0x06,
  NOT_MY_VBUCKET: 0x07,
  AUTH_ERROR: 0x20,
  AUTH_CONTINUE: 0x21,
  ERANGE: 0x22,
  ROLLBACK: 0x23,
  UNKNOWN_COMMAND: 0x81,
  ENOMEM: 0x82,
  NOT_SUPPORTED: 0x83,
  EINTERNAL: 0x84,
  EBUSY: 0x85,
  ETMPFAIL: 0x86,
} as const;

export interface StatusInfo {
  name: string;
  /** memcached's body text for this error; empty for SUCCESS. */
  message: string;
}

export const STATUS: Readonly<Record<number, StatusInfo>> = {
  [STATUS_CODE.SUCCESS]: { name: 'SUCCESS', message: '' },
  [STATUS_CODE.KEY_ENOENT]: { name: 'KEY_ENOENT', message: 'Not found' },
  [STATUS_CODE.KEY_EEXISTS]: { name: 'KEY_EEXISTS', message: 'Data exists for key.' },
  [STATUS_CODE.E2BIG]: { name: 'E2BIG', message: 'Too large.' },
  [STATUS_CODE.EINVAL]: { name: 'EINVAL', message: 'Invalid arguments' },
  [STATUS_CODE.NOT_STORED]: { name: 'NOT_STORED', message: 'Not stored.' },
  [STATUS_CODE.DELTA_BADVAL]: { name: 'DELTA_BADVAL', message: 'Non-numeric server-side value for incr or decr' },
  [STATUS_CODE.NOT_MY_VBUCKET]: { name: 'NOT_MY_VBUCKET', message: 'I\'m not responsible for this vbucket' },
  [STATUS_CODE.AUTH_ERROR]: { name: 'AUTH_ERROR', message: 'Auth failure.' },
  [STATUS_CODE.AUTH_CONTINUE]: { name: 'AUTH_CONTINUE', message: 'Auth continue' },
  [STATUS_CODE.ERANGE]: { name: 'ERANGE', message: 'Outside range' },
  [STATUS_CODE.ROLLBACK]: { name: 'ROLLBACK', message: 'Rollback required' },
  [STATUS_CODE.UNKNOWN_COMMAND]: { name: 'UNKNOWN_COMMAND', message: 'Unknown command' },
  [STATUS_CODE.ENOMEM]: { name: 'ENOMEM', message: 'Out of memory' },
  [STATUS_CODE.NOT_SUPPORTED]: { name: 'NOT_SUPPORTED', message: 'Not supported' },
  [STATUS_CODE.EINTERNAL]: { name: 'EINTERNAL', message: 'Internal error' },
  [STATUS_CODE.EBUSY]: { name: 'EBUSY', message: 'Server too busy' },
  [STATUS_CODE.ETMPFAIL]: { name: 'ETMPFAIL', message: 'Temporary failure' },
};

export function statusName(code: number): string {
  return STATUS[code]?.name ?? `0x${code.toString(16)}`;
}
