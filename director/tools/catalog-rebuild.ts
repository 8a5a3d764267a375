/**
 * Rebuilding a catalog from volumes alone (bscan; volume-format.md §9). Reads
 * every block of the volumes given, in label-time order, with one reassembly
 * state so a session continued on the next volume comes back whole, and
 * stores what the volumes hold: volume rows (label, committed end, jobs,
 * status), per session its job row (the id it had, name, client, level,
 * pool, fileset, start from the start label; status, end and counters from
 * the end label's `job` summary), its file rows and agent states (from the
 * ATTRIBUTES, DIGEST_SHA256, PACK_INDEX and AGENT_STATE records, through the
 * same FileAssembler a backup uses) and its job media (per volume: start
 * label block to the session's last block there). An encrypted job also
 * gets its encryption header (from its start label) and its signed manifest
 * (its MANIFEST records) — what a restore with `--key` needs — and later
 * wraps of its data key may be given from a keyring file. Idempotent: jobs and
 * volumes already in the catalog are left as they are and reported as
 * skipped. Catalog writes are the Director's, so this lives in director/.
 */
import { Buffer } from 'node:buffer';
import { StreamType, lastFileIndexOf, type Level } from '../../plugin-api/index.js';
import { parseEncryptionHeader, parseManifest, type KeyWrap } from '../../core/index.js';
import { CATALOGED_STREAMS, ScanBuffers, ScanState, readVolume, type JobMediaRange, type SessionEndLabel, type SessionStartLabel, type VolumeLabel } from '../../sd/index.js';
import type { Catalog, CatalogJobStatus, CatalogVolume } from '../catalog/index.js';
import { FileAssembler } from '../jobs/file-assembler.js';

export interface RebuiltJob {
  jobId: number;
  name: string;
  client: string;
  level: string;
  status: CatalogJobStatus;
  files: number;
  volumes: string[];
  /** False when the job was already in the catalog (left untouched). */
  added: boolean;
  /** An encrypted job: its cipher, the keys its data key was wrapped to (start label), and whether its signed manifest was found whole. */
  encryption?: { cipher: string; sealedFor: string[]; signer: string; manifest: boolean };
}

export interface RebuildReport {
  volumes: Array<{ name: string; added: boolean; status: string; committedBlocks: number; jobs: number }>;
  jobs: RebuiltJob[];
  /** Bad blocks met while reading (their records are missing from the rebuilt catalog). */
  badBlocks: Array<{ volume: string; block: number; reason: string }>;
  /** Wraps from keyring files stored for jobs of the catalog (those already there are not stored again). */
  keyWraps: number;
}

interface SessionScan {
  sessionId: number;
  start: SessionStartLabel;
  end: SessionEndLabel | null;
  /** Per volume, in the order met. */
  ranges: JobMediaRange[];
  assembler: FileAssembler | null;
  skip: boolean;
  lastTime: number;
  /** MANIFEST record payloads by part number (encrypted jobs). */
  manifest: Buffer[];
}

interface VolumeScan {
  path: string;
  label: VolumeLabel;
  /** Session id → last block of that session on this volume. */
  lastBlock: Map<number, number>;
  starts: number;
  firstTime: number | null;
  lastTime: number | null;
}

/** Reads the volume labels only, to order the volumes (label time, then name). */
async function labelOf(path: string): Promise<VolumeLabel> {
  for await (const it of readVolume(path, { endBlock: 0 })) if (it.kind === 'volume-label') return it.label;
  throw new Error(`no volume label in ${path}`);
}

export async function orderVolumes(paths: string[]): Promise<Array<{ path: string; label: VolumeLabel }>> {
  const out = [];
  for (const path of paths) out.push({ path, label: await labelOf(path) });
  return out.sort((a, b) => a.label.labelTime - b.label.labelTime || a.label.volumeName.localeCompare(b.label.volumeName));
}

export interface RebuildOptions {
  onProgress?: (text: string) => void;
  /** Later wraps of encrypted jobs' data keys (keyring files from `cairn key rotate` / `export-keyring`). */
  wraps?: Array<{ jobId: number; wrap: KeyWrap }>;
}

export async function rebuildCatalog(catalog: Catalog, volumePaths: string[], opts: RebuildOptions = {}): Promise<RebuildReport> {
  const report: RebuildReport = { volumes: [], jobs: [], badBlocks: [], keyWraps: 0 };
  const sessions = new Map<number, SessionScan>();
  const volumes: VolumeScan[] = [];
  const state = new ScanState();
  const buffers = new ScanBuffers();

  for (const { path, label } of await orderVolumes(volumePaths)) {
    const vol: VolumeScan = { path, label, lastBlock: new Map(), starts: 0, firstTime: null, lastTime: null };
    volumes.push(vol);
    opts.onProgress?.(`reading ${label.volumeName}`);
    // The scanner yields a record while it reads the block where the record ends, a block of the record's own
    // session: the session of the block it was last told of is the record's.
    let current = 0;
    const onBlock = (block: number, sessionId: number): void => {
      current = sessionId;
      if (sessionId === 0) return;
      vol.lastBlock.set(sessionId, block);
      const s = sessions.get(sessionId);
      const r = s?.ranges[s.ranges.length - 1];
      if (r && r.volume === label.volumeName) r.endBlock = block;
    };
    for await (const it of readVolume(path, { state, buffers, onBlock })) {
      switch (it.kind) {
        case 'session-start': {
          const l = it.label;
          vol.firstTime ??= l.time;
          vol.lastTime = Math.max(vol.lastTime ?? 0, l.time);
          if (!l.continued) vol.starts++;
          let s = sessions.get(l.sessionId);
          if (!s) {
            s = { sessionId: l.sessionId, start: l, end: null, ranges: [], assembler: null, skip: false, lastTime: l.time, manifest: [] };
            sessions.set(l.sessionId, s);
            await beginJob(catalog, s);
          }
          s.ranges.push({ volume: label.volumeName, sessionId: l.sessionId, firstIndex: 0, lastIndex: 0, startFile: 0, startBlock: it.block, endFile: 0, endBlock: it.block });
          break;
        }
        case 'session-end': {
          const s = sessions.get(it.label.sessionId);
          vol.lastTime = Math.max(vol.lastTime ?? 0, it.label.time);
          if (s) {
            s.end = it.label;
            s.lastTime = it.label.time;
          }
          break;
        }
        case 'record': {
          const s = sessions.get(current);
          const rec = it.record;
          if (s) {
            const r = s.ranges[s.ranges.length - 1];
            if (rec.fileIndex > 0 && r) {
              if (r.firstIndex === 0 || rec.fileIndex < r.firstIndex) r.firstIndex = rec.fileIndex;
              r.lastIndex = Math.max(r.lastIndex, lastFileIndexOf(rec.streamType, rec.fileIndex, rec.streamNo));
            }
            if (!s.skip && rec.fileIndex === 0 && rec.streamType === StreamType.MANIFEST) s.manifest[rec.streamNo] = Buffer.from(rec.payload);
            if (!s.skip && s.assembler && CATALOGED_STREAMS.has(rec.streamType)) {
              // The assembler keeps views of the payload (paths): give it bytes of its own, not the scanner's reused buffer.
              s.assembler.add([{ record: { ...rec, payload: Buffer.from(rec.payload) }, location: it.location }]);
            }
          }
          it.release?.();
          break;
        }
        case 'bad-block':
          report.badBlocks.push({ volume: it.volume, block: it.block, reason: it.reason });
          break;
        default:
          break;
      }
    }
  }

  for (const s of sessions.values()) report.jobs.push(await finishJob(catalog, s));
  for (const v of volumes) report.volumes.push(await storeVolume(catalog, v, sessions));
  report.keyWraps = await storeWraps(catalog, opts.wraps ?? []);
  return report;
}

/** Stores keyring wraps for encrypted jobs of the catalog that do not hold them yet (idempotent). */
async function storeWraps(catalog: Catalog, wraps: Array<{ jobId: number; wrap: KeyWrap }>): Promise<number> {
  const fresh: Array<{ jobId: number; wrap: KeyWrap }> = [];
  const known = new Map<number, Set<string>>();
  for (const w of wraps) {
    let have = known.get(w.jobId);
    if (!have) {
      if (!(await catalog.jobCrypto(w.jobId))) continue;
      have = new Set((await catalog.keyWraps(w.jobId)).map((k) => `${k.wrap.fingerprint}:${String(k.wrap.box)}`));
      known.set(w.jobId, have);
    }
    const id = `${w.wrap.fingerprint}:${w.wrap.box}`;
    if (have.has(id)) continue;
    have.add(id);
    fresh.push(w);
  }
  await catalog.addKeyWraps(fresh);
  return fresh.length;
}

/** An encrypted job's header (start label) and signed manifest (MANIFEST records, when whole) into the catalog. */
async function storeCrypto(catalog: Catalog, s: SessionScan, out: RebuiltJob): Promise<void> {
  const j = s.start.job;
  if (s.start.encryption === undefined) return;
  let header;
  try {
    header = parseEncryptionHeader(s.start.encryption, `session start label of job ${j.jobId}`);
  } catch (err) {
    await catalog.addJobLog(j.jobId, { level: 'error', code: 'CAIRN_E_KEY_HEADER', text: `rebuilt from volumes: ${(err as Error).message}` });
    return;
  }
  let manifest: Buffer | null = null;
  if (s.manifest.length > 0 && Object.keys(s.manifest).length === s.manifest.length) {
    const bytes = Buffer.concat(s.manifest);
    try {
      parseManifest(bytes);
      manifest = bytes;
    } catch {
      manifest = null;
    }
  }
  await catalog.saveJobCrypto({ jobId: j.jobId, header, manifest });
  out.encryption = { cipher: header.cipher, sealedFor: header.wraps.map((w) => w.fingerprint), signer: header.signer.fingerprint, manifest: manifest !== null };
}

async function beginJob(catalog: Catalog, s: SessionScan): Promise<void> {
  const j = s.start.job;
  if (await catalog.getJob(j.jobId)) {
    s.skip = true;
    return;
  }
  const extra = (j.extra ?? {}) as { filesetHash?: string; filesetText?: string };
  if (j.fileset) {
    if (typeof extra.filesetText === 'string') await catalog.ensureFileset(j.fileset, extra.filesetText);
    else if (typeof extra.filesetHash === 'string') await catalog.importFileset(j.fileset, extra.filesetHash, '');
  }
  await catalog.importJob({
    id: j.jobId, name: j.jobName, type: 'backup', level: j.level as Level, client: j.client, fileset: j.fileset ?? null,
    filesetHash: typeof extra.filesetHash === 'string' ? extra.filesetHash : null, pool: j.pool ?? null, startedAt: new Date(j.startedAt), sessionId: s.sessionId,
  });
  s.assembler = new FileAssembler(catalog, j.jobId);
}

/** The job's outcome as the volumes tell it: the end label and the FD's summary in it. */
async function finishJob(catalog: Catalog, s: SessionScan): Promise<RebuiltJob> {
  const j = s.start.job;
  const e = s.end;
  const status: CatalogJobStatus = e && e.status === 'ok' ? (e.job?.status ?? 'ok') : 'error';
  const out: RebuiltJob = { jobId: j.jobId, name: j.jobName, client: j.client, level: j.level, status, files: 0, volumes: [...new Set(s.ranges.map((r) => r.volume))], added: !s.skip };
  if (s.skip || !s.assembler) return out;
  await s.assembler.finish();
  out.files = e?.job?.files ?? s.assembler.files;
  if (status === 'ok' || status === 'warning') {
    await catalog.insertJobMedia(j.jobId, s.ranges);
    await storeCrypto(catalog, s, out);
  }
  const reason = !e ? 'the session has no end label on the volumes read (never closed, or on a volume not given)' : e.status !== 'ok' ? `the session was aborted: ${e.reason ?? 'no reason recorded'}` : undefined;
  if (reason) await catalog.addJobLog(j.jobId, { level: 'error', code: 'CAIRN_E_JOB_FAILED', text: `rebuilt from volumes: ${reason}` });
  await catalog.finishJob(j.jobId, {
    status,
    endedAt: new Date(e?.time ?? s.lastTime),
    files: out.files,
    bytes: e?.job?.bytes ?? 0,
    readBytes: e?.job?.storedBytes,
    errors: status === 'error' ? 1 : 0,
    report: {
      jobId: j.jobId, name: j.jobName, type: 'backup', level: j.level, status, rebuiltFromVolumes: true, volumes: out.volumes,
      baseJobId: (j.extra as { baseJobId?: number } | undefined)?.baseJobId ?? undefined, deleted: e?.job?.deleted, warnings: e?.job?.warnings ?? 0,
    },
    agentStates: s.assembler.agentStates,
  });
  return out;
}

/**
 * A volume's row. Committed end: the last block of any session that closed (an end label on some volume)
 * or continued on a later volume; blocks past it belong to sessions that never closed and are trimmed at
 * the next mount, as after a crash. Full when a session continued from it onto another volume.
 */
async function storeVolume(catalog: Catalog, v: VolumeScan, sessions: Map<number, SessionScan>): Promise<RebuildReport['volumes'][number]> {
  const name = v.label.volumeName;
  let last = 0;
  let full = false;
  for (const [id, block] of v.lastBlock) {
    const s = sessions.get(id);
    if (!s) continue;
    const at = s.ranges.findIndex((r) => r.volume === name);
    const continued = at >= 0 && at < s.ranges.length - 1;
    if (continued) full = true;
    if (s.end || continued) last = Math.max(last, block);
  }
  const row: CatalogVolume = {
    name, pool: v.label.pool, mediaType: v.label.mediaType, status: full ? 'full' : 'append', committedBlocks: last + 1, committedBytes: (last + 1) * v.label.blockSize,
    jobs: v.starts, firstWritten: v.firstTime === null ? null : new Date(v.firstTime), lastWritten: v.lastTime === null ? null : new Date(v.lastTime), label: { ...v.label },
    protected: false, recycleCount: typeof v.label.recycled === 'number' ? v.label.recycled : 0, purgedAt: null,
  };
  if (await catalog.getVolume(name)) return { name, added: false, status: row.status, committedBlocks: row.committedBlocks, jobs: row.jobs };
  await catalog.importVolume(row);
  return { name, added: true, status: row.status, committedBlocks: row.committedBlocks, jobs: row.jobs };
}
