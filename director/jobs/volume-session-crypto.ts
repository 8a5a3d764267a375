/**
 * An encrypted session's keys and manifest read from the volumes themselves,
 * for restores that have no catalog to ask (a bootstrap restore, bextract
 * with --bootstrap; docs/volume-tools.md): the encryption header from the
 * session's start label (the first block of its first range) and the signed
 * manifest from its MANIFEST records, the last records of the session —
 * found by reading its last range's tail, twice as many blocks each try, so
 * only about the manifest's own size is read; a manifest that began on the
 * volume before is joined from that range's tail and the last range. Later
 * wraps (a keyring file) are added by the caller. The volumes are read with
 * a VolumeScanner: volume files (bextract), or the local repository's SD
 * device (file volumes, or a tape spaced to the blocks wanted).
 */
import { Buffer } from 'node:buffer';
import { StreamType, isCairnError } from '../../plugin-api/index.js';
import { encryptionOfLabel, parseManifest, type KeyWrap, type SessionCrypto } from '../../core/index.js';
import { ScanState, type Bootstrap, type ScanItem, type ScanOptions } from '../../sd/index.js';

export type BootstrapEntry = Bootstrap['entries'][number];

/** Reads one volume's blocks as `opts` says (labels and records, as the SD's scanner yields them). */
export type VolumeScanner = (volume: string, opts: ScanOptions) => AsyncIterable<ScanItem>;

/** The header of the session's start label (null: the session is not encrypted). */
async function headerOf(entry: BootstrapEntry, scan: VolumeScanner): Promise<SessionCrypto['header'] | null> {
  for await (const it of scan(entry.volume, { startFile: entry.startFile, startBlock: entry.startBlock, endBlock: entry.startBlock, sessionId: entry.sessionId })) {
    if (it.kind === 'session-start' && it.label.sessionId === entry.sessionId) return encryptionOfLabel(it.label);
  }
  return null;
}

/** One stretch of a session's blocks to read: a range of a volume from block `from` to its end. */
interface Stretch {
  entry: BootstrapEntry;
  from: number;
}

/**
 * The items of one stretch. A tape is spaced to the tape file holding `from`: the range's first file when
 * `from` is its first block, else the last file that does not start after it (tried from the range's last file
 * back; a tape file starting after the block is CAIRN_E_VOLUME_MISMATCH). A file volume ignores the file.
 */
async function* stretchItems(s: Stretch, scan: VolumeScanner, state: ScanState): AsyncGenerator<ScanItem> {
  const e = s.entry;
  const opts = { startBlock: s.from, endBlock: e.endBlock, sessionId: e.sessionId, state };
  if (s.from === e.startBlock || e.endFile <= e.startFile) {
    yield* scan(e.volume, { ...opts, startFile: e.startFile });
    return;
  }
  for (let file = e.endFile; ; file--) {
    let started = false;
    try {
      for await (const it of scan(e.volume, { ...opts, startFile: file })) {
        started = true;
        yield it;
      }
      return;
    } catch (err) {
      if (started || file <= e.startFile || !(isCairnError(err) && err.code === 'CAIRN_E_VOLUME_MISMATCH')) throw err;
    }
  }
}

/**
 * The MANIFEST records met reading the stretches in order with one scan state (so a record that spans a
 * volume change comes back whole), concatenated once they decode; null while the manifest is not whole.
 */
async function manifestIn(stretches: Stretch[], scan: VolumeScanner): Promise<Buffer | null> {
  const state = new ScanState();
  const parts: Buffer[] = [];
  for (const s of stretches) {
    for await (const it of stretchItems(s, scan, state)) {
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
async function manifestOf(entries: BootstrapEntry[], scan: VolumeScanner): Promise<Buffer | null> {
  const last = entries[entries.length - 1];
  const tail = (e: BootstrapEntry, span: number) => Math.max(e.startBlock, e.endBlock - span + 1);
  for (let span = 2; ; span *= 2) {
    const from = tail(last, span);
    const m = await manifestIn([{ entry: last, from }], scan);
    if (m) return m;
    if (from === last.startBlock) break;
  }
  const prev = entries[entries.length - 2];
  if (!prev) return null;
  for (let span = 2; ; span *= 2) {
    const from = tail(prev, span);
    const m = await manifestIn([{ entry: prev, from }, { entry: last, from: last.startBlock }], scan);
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
  scan: VolumeScanner,
  wraps: Array<{ jobId: number; wrap: KeyWrap }> = [],
  /** The session's last range when no entry is it (a bootstrap file's `tail` line): the manifest is read there. */
  tail?: BootstrapEntry,
): Promise<SessionCrypto | null> {
  const first = entries[0];
  if (!first) return null;
  const header = await headerOf(first, scan);
  if (!header) return null;
  const manifest = await manifestOf(tail ? [...entries, tail] : entries, scan);
  const mine = wraps.filter((w) => w.jobId === jobId);
  return { header, ...(mine.length ? { wraps: mine } : {}), ...(manifest ? { manifest } : {}) };
}
