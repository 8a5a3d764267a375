/**
 * native/errors.ts — the native part's error catalogue and its error class.
 *
 * native/ is a leaf part (eslint.config.js): it may not import plugin-api, so
 * it cannot construct plugin-api's CairnError directly. NativeError carries
 * the same shape (code, fields, retryable, toJSON) and the same global brand,
 * `Symbol.for('cairn.error')`, so `isCairnError(err)` and
 * `err instanceof CairnError` from plugin-api both recognise it — exactly the
 * mechanism plugin-api documents for two copies of itself.
 *
 * Errno failures of the addon are not wrapped: they reject like node:fs does,
 * an Error with `code` ('ENOENT'), `errno` (positive number), `syscall` and
 * `path` (as the caller gave it), so agents handle both the same way.
 */

/** Same shape as plugin-api's ErrorSpec (structurally identical). */
export interface NativeErrorSpec {
  readonly exitCode: number;
  readonly retryable: boolean;
  readonly summary: string;
}

export const NATIVE_ERRORS = {
  CAIRN_E_PLATFORM_UNSUPPORTED: {
    exitCode: 3,
    retryable: false,
    summary: 'The platform service is not available here (native addon not built or not loadable, or the OS lacks it).',
  },
  CAIRN_E_NATIVE_LOAD: {
    exitCode: 2,
    retryable: false,
    summary: 'The native addon binary is missing, stale or built for another Node/platform; run `npm run build:native`.',
  },
  CAIRN_E_TAPE_END_OF_MEDIUM: {
    exitCode: 3,
    retryable: false,
    summary: 'The tape reached end of medium (ENOSPC): early warning (the block was not written; a few more blocks may be written, e.g. a trailer) or hard end (nothing more fits); field `phase`.',
  },
  CAIRN_E_TAPE_NO_MEDIUM: { exitCode: 3, retryable: true, summary: 'No tape is loaded in the drive (ENOMEDIUM, or EIO with the door open / drive not online).' },
  CAIRN_E_TAPE_WRITE_PROTECTED: { exitCode: 3, retryable: false, summary: 'The tape is write-protected (EROFS at open, EACCES on a write), or the drive was opened read-only.' },
  CAIRN_E_TAPE_IO: { exitCode: 3, retryable: false, summary: 'The drive reported an I/O error (EIO) that is not end of data, a filemark or beginning of medium; the tape position may be unknown.' },
  CAIRN_E_TAPE_NOT_A_TAPE: { exitCode: 2, retryable: false, summary: 'The device is not a tape drive (ENOTTY on MTIOCGET).' },
  CAIRN_E_TAPE_END_OF_DATA: { exitCode: 3, retryable: false, summary: 'A read or forward space ran into the end of recorded data (blank tape after the last record).' },
  CAIRN_E_TAPE_FILEMARK: { exitCode: 3, retryable: false, summary: 'A block space (fsr/bsr) stopped at a filemark before spacing over all the blocks asked.' },
  CAIRN_E_TAPE_BEGINNING_OF_MEDIUM: { exitCode: 3, retryable: false, summary: 'A backward space (bsr/bsf) reached the beginning of the tape before spacing over all it was asked.' },
  CAIRN_E_TAPE_BLOCK_SIZE: { exitCode: 3, retryable: false, summary: 'The block does not fit the read buffer (ENOMEM), or the size is outside the drive\'s block limits or not a multiple of the fixed block size (EINVAL).' },
  CAIRN_E_TAPE_BUSY: { exitCode: 3, retryable: true, summary: 'The drive is already open (EBUSY); the st driver allows one open at a time.' },
  CAIRN_E_TAPE_ACCESS: { exitCode: 2, retryable: false, summary: 'Permission denied opening the tape device (EACCES/EPERM): run as a user in the device\'s group (often `tape`).' },
  CAIRN_E_TAPE_NOT_FOUND: { exitCode: 2, retryable: false, summary: 'The tape device (or vtape file) does not exist (ENOENT, ENXIO, ENODEV).' },
  CAIRN_E_TAPE_REWINDING_DEVICE: { exitCode: 2, retryable: false, summary: 'The device is an auto-rewind st device (/dev/stN): it rewinds on every close and would overwrite data; use the no-rewind /dev/nstN.' },
  CAIRN_E_TAPE_UNSUPPORTED: { exitCode: 3, retryable: false, summary: 'The drive or driver does not support the operation (ENOSYS, EOPNOTSUPP).' },
  CAIRN_E_TAPE_CLOSED: { exitCode: 70, retryable: false, summary: 'An operation was issued on a tape drive handle that is closed (a bug in the caller).' },
  CAIRN_E_TAPE_FORMAT: { exitCode: 3, retryable: false, summary: 'The vtape file is not a Cairn vtape (bad magic, version or header) and cannot be loaded.' },
} as const satisfies Record<string, NativeErrorSpec>;

export type NativeErrorCode = keyof typeof NATIVE_ERRORS;

const BRAND = Symbol.for('cairn.error');

/** A CairnError (by brand) raised by native/. Match on `code`, read facts from `fields`. */
export class NativeError extends Error {
  readonly code: NativeErrorCode;
  readonly fields: Record<string, unknown>;
  readonly retryable: boolean;

  constructor(code: NativeErrorCode, message: string, fields: Record<string, unknown> = {}, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CairnError';
    this.code = code;
    this.fields = fields;
    this.retryable = NATIVE_ERRORS[code].retryable;
    Object.defineProperty(this, BRAND, { value: true });
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.fields };
  }
}
