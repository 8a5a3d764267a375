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
