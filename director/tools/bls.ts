/**
 * cairn-bls: lists what volumes hold, from the volumes alone — each volume's
 * label, its sessions (job id, name, client, level, start label block, end
 * label status and counts) and, unless --jobs, every file (job, file index,
 * kind, size, path) with the block its attributes lie in.
 *
 *   cairn-bls VOLUME|DIR… [--jobs] [--json]
 *
 * It lives beside bscan in director/tools/ because naming files means
 * decoding attribute records (core's codec), which sd/ does not import.
 */
import { StreamType, displayPath } from '../../plugin-api/index.js';
import { decodeAttributes } from '../../core/index.js';
import { ScanBuffers, ScanState, readVolume, type SessionEndLabel, type VolumeLabel } from '../../sd/index.js';
import { CairnError } from '../../plugin-api/index.js';
import { humanBytes, type Output } from '../cli/output.js';
import { orderVolumes } from './catalog-rebuild.js';
import { parseToolArgs, runTool, volumeFiles } from './tool-cli.js';

const USAGE = 'usage: cairn-bls VOLUME|DIR… [--jobs] [--json]';

export interface BlsSession {
  sessionId: number;
  jobId: number;
  jobName: string;
  client: string;
  level: string;
  startedAt: string;
  startBlock: number;
  continued: boolean;
  /** An encrypted job (its start label's header): cipher, the keys its data key was wrapped to, the manifest's signer. */
  encryption?: { cipher: string; sealedFor: string[]; signer: string };
  end?: Pick<SessionEndLabel, 'status' | 'files' | 'records' | 'bytes' | 'blocks' | 'reason' | 'job'> & { block: number; time: string };
}

export interface BlsListing {
  volumes: Array<{ name: string; path: string; label: VolumeLabel; sessions: BlsSession[]; end: string }>;
  files: Array<{ volume: string; block: number; sessionId: number; jobId: number; fileIndex: number; kind: string; size: number; path: string }>;
  badBlocks: Array<{ volume: string; block: number; reason: string }>;
}

export async function listVolumes(paths: string[], opts: { files: boolean; onFile?: (f: BlsListing['files'][number]) => void }): Promise<BlsListing> {
  const listing: BlsListing = { volumes: [], files: [], badBlocks: [] };
  const state = new ScanState();
  const buffers = new ScanBuffers();
  const jobOf = new Map<number, number>();
  for (const { path, label } of await orderVolumes(paths)) {
    const vol = { name: label.volumeName, path, label, sessions: [] as BlsSession[], end: '' };
    listing.volumes.push(vol);
    let current = 0;
    // Without files, ask for no file index at all: labels still come, no record is reassembled.
    for await (const it of readVolume(path, { state, buffers, fileIndexes: opts.files ? undefined : [], onBlock: (_b, s) => (current = s) })) {
      if (it.kind === 'session-start') {
        const j = it.label.job;
        jobOf.set(it.label.sessionId, j.jobId);
        const enc = it.label.encryption as { cipher?: string; wraps?: Array<{ fingerprint?: string }>; signer?: { fingerprint?: string } } | undefined;
        vol.sessions.push({
          sessionId: it.label.sessionId, jobId: j.jobId, jobName: j.jobName, client: j.client, level: j.level, startedAt: new Date(j.startedAt).toISOString(), startBlock: it.block, continued: it.label.continued,
          ...(enc ? { encryption: { cipher: String(enc.cipher), sealedFor: (enc.wraps ?? []).map((w) => String(w.fingerprint)), signer: String(enc.signer?.fingerprint) } } : {}),
        });
      } else if (it.kind === 'session-end') {
        const s = vol.sessions.find((x) => x.sessionId === it.label.sessionId);
        const l = it.label;
        const end = { status: l.status, files: l.files, records: l.records, bytes: l.bytes, blocks: l.blocks, reason: l.reason, job: l.job, block: it.block, time: new Date(l.time).toISOString() };
        if (s) s.end = end;
      } else if (it.kind === 'record') {
        if (it.record.streamType === StreamType.ATTRIBUTES) {
          try {
            const { entry } = decodeAttributes(it.record.payload);
            const f = { volume: label.volumeName, block: it.location.block, sessionId: current, jobId: jobOf.get(current) ?? 0, fileIndex: it.record.fileIndex, kind: entry.kind, size: entry.stat.size, path: displayPath(entry.path) };
            if (opts.onFile) opts.onFile(f);
            else listing.files.push(f);
          } catch {
            listing.badBlocks.push({ volume: label.volumeName, block: it.location.block, reason: `file index ${it.record.fileIndex}: attributes do not decode` });
          }
        }
        it.release?.();
      } else if (it.kind === 'bad-block') {
        listing.badBlocks.push({ volume: it.volume, block: it.block, reason: it.reason });
      } else if (it.kind === 'volume-end') {
        vol.end = `${it.reason} after block ${it.block}`;
      }
    }
  }
  return listing;
}

export async function bls(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseToolArgs('cairn-bls', argv, { jobs: { type: 'boolean' } }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new CairnError('CAIRN_E_USAGE', `cairn-bls: name the volumes or device folders to list\n${USAGE}`, {});
  const paths = volumeFiles(positionals);
  const files = values.jobs !== true;
  if (out.json) {
    const listing = await listVolumes(paths, { files });
    out.data(listing, () => '');
    return listing.badBlocks.length ? 1 : 0;
  }
  // Text: files stream out as they are read (a volume may hold millions).
  const listing = await listVolumes(paths, {
    files,
    onFile: (f) => process.stdout.write(`  job ${f.jobId} #${String(f.fileIndex).padEnd(7)} ${f.kind.padEnd(8)} ${String(f.size).padStart(12)}  ${f.path}\n`),
  });
  for (const v of listing.volumes) {
    const l = v.label;
    process.stdout.write(`volume ${v.name} (pool ${l.pool}, ${l.mediaType}, blocks of ${humanBytes(l.blockSize)}, labelled ${new Date(l.labelTime).toISOString()}; ${v.end})\n`);
    for (const s of v.sessions) {
      const end = s.end ? `${s.end.status}${s.end.reason ? ` (${s.end.reason})` : ''}, ${s.end.files} files, ${s.end.records} records, ${humanBytes(s.end.bytes)}, end label at block ${s.end.block}` : 'no end label on this volume';
      const enc = s.encryption ? `, encrypted ${s.encryption.cipher} for ${s.encryption.sealedFor.join(', ')}` : '';
      process.stdout.write(`  session ${s.sessionId}: job ${s.jobId} ${s.jobName} (${s.client}, ${s.level}${s.continued ? ', continued' : ''}${enc}) from block ${s.startBlock}: ${end}\n`);
    }
  }
  for (const b of listing.badBlocks) process.stdout.write(`bad block: volume ${b.volume} block ${b.block}: ${b.reason}\n`);
  return listing.badBlocks.length ? 1 : 0;
}

export function runBls(): Promise<void> {
  const argv = process.argv.slice(2);
  return runTool(argv, (out) => bls(argv, out));
}
