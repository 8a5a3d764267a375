/**
 * Bootstrap files (docs/bootstrap.md): the text a Director writes after each
 * backup job naming every volume range, session and file index the tree as
 * at that job needs, so it can be restored with no catalog at all (`cairn
 * restore --bootstrap`, `cairn-bextract --bootstrap`). Owns the format
 * (write, parse), building one from the catalog, and writing it atomically.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CairnError } from '../../plugin-api/index.js';
import type { Bootstrap } from '../../sd/index.js';
import type { Catalog, CatalogJob } from '../catalog/index.js';
import { bootstrapFor } from './selection.js';

export const BOOTSTRAP_FORMAT = 1;

export interface BootstrapSession {
  jobId: number;
  sessionId: number;
  name?: string;
  client?: string;
  level?: string;
  entries: Bootstrap['entries'];
  /**
   * The session's last range when no entry is it (it holds none of the files wanted): where the session's end
   * label and, for an encrypted job, its signed manifest are. Read only for the manifest, never by the SD.
   */
  tail?: Bootstrap['entries'][number];
}

/** `tail` for a session whose entries were chosen from its media ranges: its last range, unless an entry already is it. */
export function sessionTail(media: ReadonlyArray<{ volume: string; sessionId: number; startFile: number; startBlock: number; endFile: number; endBlock: number }>, entries: Bootstrap['entries']): Bootstrap['entries'][number] | undefined {
  const m = media[media.length - 1];
  if (!m || entries.some((e) => e.volume === m.volume && e.startBlock === m.startBlock && e.endBlock === m.endBlock)) return undefined;
  return { volume: m.volume, sessionId: m.sessionId, startFile: m.startFile, startBlock: m.startBlock, endFile: m.endFile, endBlock: m.endBlock };
}

export interface BootstrapDocument {
  /** The job whose tree the file restores (the last of the chain). */
  job?: { id: number; name: string; client: string; level: string; endedAt?: string };
  /** Oldest first (Full, Differential, Incrementals). */
  sessions: BootstrapSession[];
}

const enc = (v: string | number): string => encodeURIComponent(String(v));

function ranges(r: Array<[number, number]>): string {
  return r.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
}

export function formatBootstrap(doc: BootstrapDocument): string {
  const lines = ['# Cairn bootstrap file (docs/bootstrap.md): what to read to restore the tree as at the job below.', `cairn-bootstrap ${BOOTSTRAP_FORMAT}`];
  const j = doc.job;
  if (j) lines.push(`job id=${j.id} name=${enc(j.name)} client=${enc(j.client)} level=${j.level}${j.endedAt ? ` ended=${j.endedAt}` : ''}`);
  for (const s of doc.sessions) {
    lines.push(`session job=${s.jobId} id=${s.sessionId}${s.name ? ` name=${enc(s.name)}` : ''}${s.client ? ` client=${enc(s.client)}` : ''}${s.level ? ` level=${s.level}` : ''}`);
    for (const e of s.entries) {
      lines.push(`volume name=${enc(e.volume)} startfile=${e.startFile} startblock=${e.startBlock} endfile=${e.endFile} endblock=${e.endBlock}${e.fileIndexes ? ` indexes=${ranges(e.fileIndexes)}` : ''}`);
    }
    const t = s.tail;
    if (t) lines.push(`tail name=${enc(t.volume)} startfile=${t.startFile} startblock=${t.startBlock} endfile=${t.endFile} endblock=${t.endBlock}`);
  }
  return lines.join('\n') + '\n';
}

function syntax(source: string, line: number, why: string): CairnError {
  return new CairnError('CAIRN_E_BOOTSTRAP_SYNTAX', `${source}:${line}: ${why}`, { source, line });
}

export function parseBootstrap(text: string, source = '<bootstrap>'): BootstrapDocument {
  const doc: BootstrapDocument = { sessions: [] };
  let version: number | null = null;
  let current: BootstrapSession | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const [word, ...rest] = raw.split(/\s+/);
    if (version === null) {
      if (word !== 'cairn-bootstrap') throw syntax(source, i + 1, 'not a Cairn bootstrap file (its first line must be "cairn-bootstrap 1")');
      version = Number(rest[0]);
      if (version !== BOOTSTRAP_FORMAT) throw syntax(source, i + 1, `bootstrap format ${rest[0]}; this cairn reads format ${BOOTSTRAP_FORMAT}`);
      continue;
    }
    const kv: Record<string, string> = {};
    for (const w of rest) {
      const eq = w.indexOf('=');
      if (eq <= 0) throw syntax(source, i + 1, `"${w}" is not key=value`);
      kv[w.slice(0, eq).toLowerCase()] = decodeURIComponent(w.slice(eq + 1));
    }
    const int = (k: string): number => {
      const n = Number(kv[k]);
      if (kv[k] === undefined || !Number.isSafeInteger(n) || n < 0) throw syntax(source, i + 1, `${word} needs ${k}=<number>`);
      return n;
    };
    switch (word) {
      case 'job':
        doc.job = { id: int('id'), name: kv.name ?? '', client: kv.client ?? '', level: kv.level ?? '' };
        if (kv.ended !== undefined) doc.job.endedAt = kv.ended;
        break;
      case 'session':
        current = { jobId: int('job'), sessionId: int('id'), entries: [] };
        if (kv.name !== undefined) current.name = kv.name;
        if (kv.client !== undefined) current.client = kv.client;
        if (kv.level !== undefined) current.level = kv.level;
        doc.sessions.push(current);
        break;
      case 'volume': {
        if (!current) throw syntax(source, i + 1, 'a volume line must follow a session line');
        if (!kv.name) throw syntax(source, i + 1, 'volume needs name=');
        const entry: Bootstrap['entries'][number] = {
          volume: kv.name, sessionId: current.sessionId, startFile: int('startfile'), startBlock: int('startblock'), endFile: int('endfile'), endBlock: int('endblock'),
        };
        if (kv.indexes !== undefined) entry.fileIndexes = parseRanges(kv.indexes, () => syntax(source, i + 1, `indexes "${kv.indexes}" is not a list of N or N-M`));
        current.entries.push(entry);
        break;
      }
      case 'tail':
        if (!current) throw syntax(source, i + 1, 'a tail line must follow a session line');
        if (!kv.name) throw syntax(source, i + 1, 'tail needs name=');
        current.tail = { volume: kv.name, sessionId: current.sessionId, startFile: int('startfile'), startBlock: int('startblock'), endFile: int('endfile'), endBlock: int('endblock') };
        break;
      default:
        throw syntax(source, i + 1, `unknown line "${word}" (expected job, session, volume or tail)`);
    }
  }
  if (version === null) throw syntax(source, 1, 'empty bootstrap file');
  return doc;
}

function parseRanges(s: string, bad: () => CairnError): Array<[number, number]> {
  return s.split(',').map((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw bad();
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw bad();
    return [a, b] as [number, number];
  });
}

/** The bootstrap of the tree as at `job`: its chain, each job's selected file indexes, each job's media holding them. */
export async function bootstrapOfJob(catalog: Catalog, job: CatalogJob): Promise<BootstrapDocument> {
  const chain = await catalog.restoreChain(job);
  // The whole tree: only the file indexes per job are needed (no paths, no filters: hard links' first members are in it).
  const perJob = new Map<number, number[]>();
  for await (const row of catalog.treeIndexes(chain.map((j) => j.id))) {
    let list = perJob.get(row.jobId);
    if (!list) perJob.set(row.jobId, (list = []));
    list.push(row.fileIndex);
  }
  const sessions: BootstrapSession[] = [];
  for (const j of chain) {
    const indexes = perJob.get(j.id)?.sort((a, b) => a - b);
    if (!indexes?.length) continue;
    const media = await catalog.jobMedia(j.id);
    const entries = bootstrapFor(media, indexes).entries;
    const tail = sessionTail(media, entries);
    sessions.push({ jobId: j.id, sessionId: media[0]?.sessionId ?? j.sessionId ?? 0, name: j.name, client: j.client, level: j.level ?? undefined, entries, ...(tail ? { tail } : {}) });
  }
  return { job: { id: job.id, name: job.name, client: job.client, level: job.level ?? '', endedAt: job.endedAt?.toISOString() }, sessions };
}

/** File name for a job's bootstrap: one per client and job name, replaced by each new job (Bacula's `%c.bsr` habit). */
export function bootstrapFileName(client: string, jobName: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${safe(client)}-${safe(jobName)}.bsr`;
}

/** Writes the bootstrap of `job` into `dir` atomically (temporary file, fsync, rename); returns its path. */
export async function writeJobBootstrap(catalog: Catalog, job: CatalogJob, dir: string): Promise<string> {
  const doc = await bootstrapOfJob(catalog, job);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, bootstrapFileName(job.client, job.name));
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, formatBootstrap(doc));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return file;
}
