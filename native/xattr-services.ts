/**
 * native/xattr-services.ts — extended attributes (contract:
 * plugin-api/platform.ts): llistxattr, lgetxattr, lsetxattr, lremovexattr
 * and readXattrs (list + get in one pool job) over the addon
 * (src/xattr-services.cc), the selection filter scanDirectory shares, and the
 * degraded twins, which reject with CAIRN_E_PLATFORM_UNSUPPORTED. Types
 * restate plugin-api's (native/ may not import it); file-services.test.ts
 * pins them together.
 */
import { asBytes } from './batch-services.js';
import { NativeError } from './errors.js';

/** One extended attribute: plugin-api's Xattr. */
export interface Xattr {
  readonly name: Uint8Array;
  readonly value: Uint8Array;
}

/** plugin-api's XattrSelection: 'all', or prefixes ending in '.' and exact names. */
export type XattrSelection = 'all' | readonly string[];

/** The raw surface of src/xattr-services.cc. */
export interface RawXattrBinding {
  readonly xattr: { readonly supported: boolean; readonly XATTR_CREATE: number; readonly XATTR_REPLACE: number };
  /** The names, each NUL-terminated, as the kernel lists them. */
  llistxattr(path: Uint8Array): Promise<Buffer>;
  lgetxattr(path: Uint8Array, name: Uint8Array): Promise<Buffer>;
  lsetxattr(path: Uint8Array, name: Uint8Array, value: Uint8Array, flags: number): Promise<void>;
  lremovexattr(path: Uint8Array, name: Uint8Array): Promise<void>;
  readXattrs(path: Uint8Array, filter: Uint8Array): Promise<[Buffer[], Buffer[]]>;
}

/** The xattr members of FileServices. */
export interface XattrServices {
  llistxattr(path: string | Uint8Array): Promise<Buffer[]>;
  lgetxattr(path: string | Uint8Array, name: string | Uint8Array): Promise<Buffer>;
  lsetxattr(path: string | Uint8Array, name: string | Uint8Array, value: Uint8Array, flags?: 'create' | 'replace'): Promise<void>;
  lremovexattr(path: string | Uint8Array, name: string | Uint8Array): Promise<void>;
  readXattrs(path: string | Uint8Array, select?: XattrSelection): Promise<Xattr[]>;
}

const EMPTY = Buffer.alloc(0);

/** The selection as the addon takes it: NUL-terminated entries in one buffer; empty = all. */
export function packSelection(select: XattrSelection | undefined): Buffer {
  if (select === undefined || select === 'all') return EMPTY;
  if (select.length === 0) throw new TypeError("xattr selection: use 'all' or a non-empty list of names and prefixes");
  for (const s of select) {
    if (typeof s !== 'string' || s.length === 0 || s.includes('\0')) throw new TypeError('xattr selection: each entry must be a non-empty string without NUL');
  }
  return Buffer.from(select.map((s) => `${s}\0`).join(''), 'utf8');
}

/** Splits llistxattr's NUL-terminated names into separate Buffers. */
export function splitNames(list: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i] !== 0) continue;
    if (i > start) out.push(Buffer.from(list.subarray(start, i)));
    start = i + 1;
  }
  if (start < list.length) out.push(Buffer.from(list.subarray(start)));
  return out;
}

/** Pairs the addon's parallel name and value arrays into Xattr objects. */
export function pairXattrs(names: readonly Buffer[], values: readonly Buffer[]): Xattr[] {
  const out = new Array<Xattr>(names.length);
  for (let i = 0; i < names.length; i++) out[i] = { name: names[i], value: values[i] };
  return out;
}

/** Puts the caller's own path on an errno error from the addon. */
async function withPath<T>(path: string | Uint8Array, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof Error && typeof (err as { syscall?: unknown }).syscall === 'string') (err as Error & { path: unknown }).path = path;
    throw err;
  }
}

export function nativeXattrServices(binding: RawXattrBinding): XattrServices {
  const flagsOf = (flags: 'create' | 'replace' | undefined): number => {
    if (flags === undefined) return 0;
    if (flags === 'create') return binding.xattr.XATTR_CREATE;
    if (flags === 'replace') return binding.xattr.XATTR_REPLACE;
    throw new TypeError(`lsetxattr: flags must be 'create', 'replace' or absent (got ${String(flags)})`);
  };
  return {
    async llistxattr(path) {
      return splitNames(await withPath(path, binding.llistxattr(asBytes(path))));
    },
    lgetxattr(path, name) {
      return withPath(path, binding.lgetxattr(asBytes(path), asBytes(name)));
    },
    async lsetxattr(path, name, value, flags) {
      await withPath(path, binding.lsetxattr(asBytes(path), asBytes(name), value, flagsOf(flags)));
    },
    async lremovexattr(path, name) {
      await withPath(path, binding.lremovexattr(asBytes(path), asBytes(name)));
    },
    async readXattrs(path, select) {
      const [names, values] = await withPath(path, binding.readXattrs(asBytes(path), packSelection(select)));
      return pairXattrs(names, values);
    },
  };
}

/** The reason the degraded calls give. */
export const XATTRS_DEGRADED = 'xattrs not supported without the native addon';

/** Without the addon: every call rejects with CAIRN_E_PLATFORM_UNSUPPORTED (Node has no xattr calls). */
export function degradedXattrServices(reason: string): XattrServices {
  const refuse = (operation: string, path: string | Uint8Array): Promise<never> =>
    Promise.reject(
      new NativeError('CAIRN_E_PLATFORM_UNSUPPORTED', `cannot ${operation} ${JSON.stringify(asBytes(path).toString('utf8'))}: ${XATTRS_DEGRADED} (${reason}); run \`npm run build:native\` to enable them`, {
        operation,
        path,
        reason,
      }),
    );
  return {
    llistxattr: (path) => refuse('llistxattr', path),
    lgetxattr: (path) => refuse('lgetxattr', path),
    lsetxattr: (path) => refuse('lsetxattr', path),
    lremovexattr: (path) => refuse('lremovexattr', path),
    readXattrs: (path) => refuse('readXattrs', path),
  };
}
