/**
 * An encrypted session's keys and manifest read from the volumes themselves,
 * for restores that have no catalog to ask (a bootstrap restore, bextract
 * with --bootstrap; docs/volume-tools.md): the encryption header from the
 * session's start label (the first block of its first range) and the signed
 * manifest from its MANIFEST records, the last records of the session —
 * found by reading its last range's tail, twice as many blocks each try, so
 * only about the manifest's own size is read; a manifest that began on the
 * volume before is joined from that range's tail and the last range. Later wraps (a keyring file) are
 * added by the caller. The volumes are local files (local mode, bextract).
 */
import { Buffer } from 'node:buffer';
import { StreamType } from '../../plugin-api/index.js';
import { encryptionOfLabel, parseManifest, type KeyWrap, type SessionCrypto } from '../../core/index.js';
import { ScanState, readVolume, type Bootstrap } from '../../sd/index.js';

export type BootstrapEntry = Bootstrap['entries'][number];

/** The header of the session's start label (null: the session is not encrypted). */
async function headerOf(entry: BootstrapEntry, path: string): Promise<SessionCrypto['header'] | null> {
  for await (const it of readVolume(path, { startBlock: entry.startBlock, endBlock: entry.startBlock, sessionId: entry.sessionId })) {
    if (it.kind === 'session-start' && it.label.sessionId === entry.sessionId) return encryptionOfLabel(it.label);
  }
  return null;
}

/** One stretch of a session's blocks to read: a range of a volume from block `from` to its end. */
interface Stretch {
  entry: BootstrapEntry;
  path: string;
  from: number;
}

/**
 * The MANIFEST records met reading the stretches in order with one scan state (so a record that spans a
 * volume change comes back whole), concatenated once they decode; null while the manifest is not whole.
 */
async function manifestIn(stretches: Stretch[]): Promise<Buffer | null> {
  const state = new ScanState();
  const parts: Buffer[] = [];
  for (const s of stretches) {
    for await (const it of readVolume(s.path, { startBlock: s.from, endBlock: s.entry.endBlock, sessionId: s.entry.sessionId, state })) {
      if (it.kind !== 'record') continue;
      const r = it.record;
      if (r.fileIndex === 0 && r.streamType === StreamType.MANIFEST) parts[r.streamNo] = Buffer.from(r.payload);
      it.release?.();
    }
  }
  if (parts.length === 0 || Object.keys(parts).length !== parts.length) return null;
  const bytes = Buffer.concat(parts);
  try {
    parseManifest(bytes);
    return bytes;
  } catch {
    return null; // not whole yet (a part began before the stretch), or damaged
  }
}

/**
 * The manifest at the end of the session: the tail of its last range, twice as many blocks each try; when
 * that range starts inside the manifest (the session rolled over to this volume while writing it), the tail
 * of the range before it joined to the whole last range, the same way.
 */
async function manifestOf(entries: BootstrapEntry[], volumePath: (name: string) => string): Promise<Buffer | null> {
  const last = entries[entries.length - 1];
  const tail = (e: BootstrapEntry, span: number) => Math.max(e.startBlock, e.endBlock - span + 1);
  for (let span = 2; ; span *= 2) {
    const from = tail(last, span);
    const m = await manifestIn([{ entry: last, path: volumePath(last.volume), from }]);
    if (m) return m;
    if (from === last.startBlock) break;
  }
  const prev = entries[entries.length - 2];
  if (!prev) return null;
  for (let span = 2; ; span *= 2) {
    const from = tail(prev, span);
    const m = await manifestIn([{ entry: prev, path: volumePath(prev.volume), from }, { entry: last, path: volumePath(last.volume), from: last.startBlock }]);
    if (m) return m;
    if (from === prev.startBlock) return null;
  }
}

/**
 * The crypto of one session from its volume ranges (null: not encrypted), with `wraps` for its job.
 * `manifest` is absent when the volumes hold no whole manifest (a cut session): seals are still checked.
 */
export async function sessionCryptoFromVolumes(
  jobId: number,
  entries: BootstrapEntry[],
  volumePath: (name: string) => string,
  wraps: Array<{ jobId: number; wrap: KeyWrap }> = [],
  /** The session's last range when no entry is it (a bootstrap file's `tail` line): the manifest is read there. */
  tail?: BootstrapEntry,
): Promise<SessionCrypto | null> {
  const first = entries[0];
  if (!first) return null;
  const header = await headerOf(first, volumePath(first.volume));
  if (!header) return null;
  const manifest = await manifestOf(tail ? [...entries, tail] : entries, volumePath);
  const mine = wraps.filter((w) => w.jobId === jobId);
  return { header, ...(mine.length ? { wraps: mine } : {}), ...(manifest ? { manifest } : {}) };
}
