/**
 * An encrypted session's keys and manifest read from the volumes themselves,
 * for restores that have no catalog to ask (a bootstrap restore, bextract
 * with --bootstrap; docs/volume-tools.md): the encryption header from the
 * session's start label (the first block of its first range) and the signed
 * manifest from its MANIFEST records, the last records of its last range —
 * found by reading that range's tail, twice as many blocks each try, so only
 * about the manifest's own size is read. Later wraps (a keyring file) are
 * added by the caller. The volumes are local files (local mode, bextract).
 */
import { Buffer } from 'node:buffer';
import { StreamType } from '../../plugin-api/index.js';
import { encryptionOfLabel, parseManifest, type KeyWrap, type SessionCrypto } from '../../core/index.js';
import { readVolume, type Bootstrap } from '../../sd/index.js';

export type BootstrapEntry = Bootstrap['entries'][number];

/** The header of the session's start label (null: the session is not encrypted). */
async function headerOf(entry: BootstrapEntry, path: string): Promise<SessionCrypto['header'] | null> {
  for await (const it of readVolume(path, { startBlock: entry.startBlock, endBlock: entry.startBlock, sessionId: entry.sessionId })) {
    if (it.kind === 'session-start' && it.label.sessionId === entry.sessionId) return encryptionOfLabel(it.label);
  }
  return null;
}

/** The concatenated MANIFEST records at the end of the range, once they decode; null when the range holds no whole manifest. */
async function manifestOf(entry: BootstrapEntry, path: string): Promise<Buffer | null> {
  for (let span = 2; ; span *= 2) {
    const from = Math.max(entry.startBlock, entry.endBlock - span + 1);
    const parts: Buffer[] = [];
    for await (const it of readVolume(path, { startBlock: from, endBlock: entry.endBlock, sessionId: entry.sessionId })) {
      if (it.kind !== 'record') continue;
      const r = it.record;
      if (r.fileIndex === 0 && r.streamType === StreamType.MANIFEST) parts[r.streamNo] = Buffer.from(r.payload);
      it.release?.();
    }
    if (parts.length > 0 && Object.keys(parts).length === parts.length) {
      const bytes = Buffer.concat(parts);
      try {
        parseManifest(bytes);
        return bytes;
      } catch {
        // Not whole yet (a part began before `from`), or damaged: read further back, or give up at the range's start.
      }
    }
    if (from === entry.startBlock) return null;
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
): Promise<SessionCrypto | null> {
  const first = entries[0];
  if (!first) return null;
  const header = await headerOf(first, volumePath(first.volume));
  if (!header) return null;
  let manifest: Buffer | null = null;
  for (let i = entries.length - 1; i >= 0 && !manifest; i--) manifest = await manifestOf(entries[i], volumePath(entries[i].volume));
  const mine = wraps.filter((w) => w.jobId === jobId);
  return { header, ...(mine.length ? { wraps: mine } : {}), ...(manifest ? { manifest } : {}) };
}
