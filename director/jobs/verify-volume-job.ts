/**
 * Verify at level `volume`: the SD re-reads a backup job's blocks where the
 * catalog's job media says they lie and checks every block and the record
 * structure (`verify session`, docs/protocol.md §3.1). No record leaves the
 * SD and no key is needed. For an encrypted job the request also names the
 * signer of its manifest (the catalog's encryption header, or a public key
 * file given with `--key` whose fingerprint is the signer's) and brings the
 * signed manifest itself when it fits a request: the SD checks every stored
 * record against the ciphertext digests the FD signed (docs/encryption.md §5)
 * — the proof reaches from the client to the media, still without a key.
 * Findings that name file indexes are turned into the paths the catalog holds
 * for them; the job report lists each bad file with its volume and block.
 */
import { Buffer } from 'node:buffer';
import { CairnError, displayPath, isCairnError } from '../../plugin-api/index.js';
import { parseEncryptionHeader, type CairnKey } from '../../core/index.js';
import type { ManifestAnchor, VolumeVerifyFinding, VolumeVerifyResult } from '../../sd/index.js';
import type { CatalogJob } from '../catalog/index.js';
import type { JobPlumbing } from './job-plumbing.js';
import { EXIT_CODES, type JobReport, type ReportProblem } from './job-report.js';
import { bootstrapFor } from './selection.js';

/** At most this many paths are named per finding (a bad block in a pack may touch thousands of small files). */
const PATHS_PER_FINDING = 1000;
/**
 * The catalog's signed manifest travels with the request up to this size (base64 in a JSON body, under the
 * 16 MiB frame limit: about 190,000 records); a larger one the SD reads from the session's MANIFEST records.
 */
export const MANIFEST_INLINE_BYTES = 8 << 20;

export interface VolumeVerifyOptions {
  onJobId?: (jobId: number) => void;
  /** Keys (any kind: public halves suffice) whose fingerprint may be the manifest's signer: a stronger anchor than the catalog's header. */
  signerKeys?: CairnKey[];
}

/** What the SD needs to check an encrypted job's records without a key: the signer (from the catalog) and the manifest when it fits. */
export async function manifestAnchor(repo: JobPlumbing, jobId: number, signerKeys: CairnKey[] = []): Promise<ManifestAnchor | undefined> {
  const c = await repo.catalog.jobCrypto(jobId);
  if (!c) return undefined;
  const header = parseEncryptionHeader(c.header, `catalog encryption header of job ${jobId}`);
  const own = signerKeys.find((k) => k.fingerprint === header.signer.fingerprint);
  const signPublicKey = own ? Buffer.from(own.signPublicKey).toString('base64') : header.signer.signPublicKey;
  const inline = c.manifest && c.manifest.length <= MANIFEST_INLINE_BYTES ? { bytes: c.manifest.toString('base64') } : {};
  return { signer: header.signer.fingerprint, signPublicKey, ...inline };
}

export async function runVolumeVerifyJob(repo: JobPlumbing, job: CatalogJob, opts: VolumeVerifyOptions = {}): Promise<JobReport> {
  const catalog = repo.catalog;
  const started = new Date();
  const jobId = await catalog.createJob({ name: job.name, type: 'verify', level: null, client: repo.clientName, startedAt: started });
  opts.onJobId?.(jobId);
  const problems: ReportProblem[] = [];
  const warnings: ReportProblem[] = [];
  let result: VolumeVerifyResult | null = null;
  let error: CairnError | undefined;
  try {
    const media = await catalog.jobMedia(job.id);
    if (media.length === 0) throw new CairnError('CAIRN_E_VERIFY_FAILED', `job ${job.id} has no job media in the catalog: nothing to verify`, { jobId: job.id });
    const manifest = await manifestAnchor(repo, job.id, opts.signerKeys);
    result = await repo.director.verifySession({ entries: bootstrapFor(media).entries, jobId: job.id, ...(manifest ? { manifest } : {}) });
    const paths = await pathsByIndex(repo, job.id, [...result.badBlocks, ...result.problems]);
    for (const f of result.badBlocks) {
      if (f.ours === false) {
        warnings.push({ code: f.code, text: `bad block inside the job's range, of another session (this job's block sequence is unbroken): ${f.text}`, volume: f.volume, block: f.block });
        continue;
      }
      named(f, paths, problems);
    }
    for (const f of result.problems) named(f, paths, problems);
  } catch (err) {
    error = isCairnError(err) ? err : new CairnError('CAIRN_E_JOB_FAILED', (err as Error).message, { jobId }, { cause: err });
  }
  const status = error || problems.length ? 'error' : warnings.length ? 'warning' : 'ok';
  const ended = new Date();
  const durationMs = Math.max(1, ended.getTime() - started.getTime());
  const report: JobReport = {
    jobId, name: job.name, type: 'verify', level: 'volume', status, exitCode: EXIT_CODES[status], startedAt: started.toISOString(), endedAt: ended.toISOString(), durationMs,
    files: result?.files ?? 0, bytes: result?.bytes ?? 0, rate: Math.round(((result?.bytes ?? 0) * 1000) / durationMs), baseJobId: job.id, chain: [job.id],
    volumes: result?.volumes, warnings, problems,
    verify: result
      ? { level: 'volume', blocks: result.blocks, records: result.records, badBlocks: result.badBlocks.length, endLabel: result.endLabel !== null, ...(result.manifest ? { manifest: result.manifest } : {}) }
      : { level: 'volume' },
    error: error
      ? { code: error.code, message: error.message }
      : problems.length ? { code: 'CAIRN_E_VERIFY_FAILED', message: `${problems.length} problem(s) on the volumes of job ${job.id}` } : undefined,
  };
  for (const p of problems.slice(0, 1000)) await catalog.addJobLog(jobId, { level: 'error', code: p.code, path: p.path ? Buffer.from(p.path) : undefined, text: `${p.text} (volume ${p.volume}, block ${p.block})` });
  await catalog.finishJob(jobId, { status, endedAt: ended, files: report.files, bytes: report.bytes, errors: problems.length, report: report as unknown as Record<string, unknown> });
  return report;
}

/** One problem per damaged file (path, volume, block); a finding that names no file stays one problem. */
function named(f: VolumeVerifyFinding, paths: KnownPaths, out: ReportProblem[]): void {
  const files: string[] = [];
  if (f.fileIndexes) {
    // The range may run to the end of the session (u32 max): walk the indexes whose paths are known, not the range.
    const [a, b] = f.fileIndexes;
    let lo = 0;
    let hi = paths.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (paths.sorted[mid] < Math.max(1, a)) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < paths.sorted.length && paths.sorted[k] <= b && files.length < PATHS_PER_FINDING; k++) files.push(paths.byIndex.get(paths.sorted[k])!);
  }
  if (files.length === 0) out.push({ code: f.code, text: f.text, volume: f.volume, block: f.block });
  for (const path of files) out.push({ path, code: f.code, text: f.text, volume: f.volume, block: f.block });
}

interface KnownPaths {
  byIndex: Map<number, string>;
  /** The indexes of byIndex, ascending. */
  sorted: number[];
}

/** Paths of the file indexes the findings name (only those). */
async function pathsByIndex(repo: JobPlumbing, jobId: number, findings: VolumeVerifyFinding[]): Promise<KnownPaths> {
  const ranges = findings.filter((f) => f.fileIndexes && f.ours !== false).map((f) => f.fileIndexes as [number, number]);
  const byIndex = new Map<number, string>();
  if (ranges.length > 0) {
    for await (const row of repo.catalog.filesOfJob(jobId)) {
      if (ranges.some(([a, b]) => row.fileIndex >= a && row.fileIndex <= b)) byIndex.set(row.fileIndex, displayPath(row.path));
    }
  }
  return { byIndex, sorted: [...byIndex.keys()].sort((x, y) => x - y) };
}
