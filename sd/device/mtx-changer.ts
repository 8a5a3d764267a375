/**
 * MtxChanger: a SCSI tape library through the `mtx` program (mtx-changer in
 * Bacula's terms): `mtx -f DEVICE status` parsed into slots and drives,
 * `mtx -f DEVICE load SLOT DRIVE`, `mtx -f DEVICE unload SLOT DRIVE`. The
 * program is run with execFile (argv, never a shell) and a timeout; what it
 * printed on failure is kept in the error's fields.
 */
import { execFile } from 'node:child_process';
import { CairnError } from '../../plugin-api/index.js';
import type { Changer, ChangerDrive, ChangerSlot, ChangerStatus } from './changer.js';

export interface MtxChangerOptions {
  /** The changer's SCSI generic device, e.g. /dev/sg3 (or /dev/tape/by-id/…-changer). */
  device: string;
  /** The mtx program (default: `mtx` on PATH). */
  program?: string;
  /** A robot move can take minutes; default 10 minutes. */
  timeoutMs?: number;
}

/** Default limit of one mtx run (a load on a big library, with the robot's inventory, takes minutes). */
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

export class MtxChanger implements Changer {
  readonly kind = 'mtx' as const;
  readonly device: string;
  private readonly program: string;
  private readonly timeoutMs: number;

  constructor(o: MtxChangerOptions) {
    this.device = o.device;
    this.program = o.program ?? 'mtx';
    this.timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async status(): Promise<ChangerStatus> {
    return parseMtxStatus(await this.run(['status']));
  }

  async load(slot: number, drive: number): Promise<void> {
    await this.run(['load', String(slot), String(drive)]);
  }

  async unload(slot: number, drive: number): Promise<void> {
    await this.run(['unload', String(slot), String(drive)]);
  }

  private run(args: string[]): Promise<string> {
    const argv = ['-f', this.device, ...args];
    return new Promise((resolve, reject) => {
      execFile(this.program, argv, { timeout: this.timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { code?: string | number; killed?: boolean };
        const why = e.code === 'ENOENT' ? `the program ${this.program} was not found (install mtx)` : e.killed ? `it did not finish within ${this.timeoutMs} ms` : `exit status ${String(e.code)}: ${(stderr || stdout).trim().split('\n').slice(-3).join(' / ')}`;
        reject(new CairnError('CAIRN_E_CHANGER_FAILED', `Changer ${this.device}: mtx ${args.join(' ')} failed: ${why}.`, { changer: this.device, command: [this.program, ...argv].join(' '), exitCode: typeof e.code === 'number' ? e.code : null, stderr: stderr.slice(-2000) }, { cause: err }));
      });
    });
  }
}

const DRIVE_RE = /^\s*Data Transfer Element (\d+):(Empty|Full)(?:\s*\((?:Storage Element (\d+)|Unknown Storage Element) Loaded\))?(.*)$/;
const SLOT_RE = /^\s*Storage Element (\d+)(\s+IMPORT\/EXPORT)?:(Empty|Full)(.*)$/;
const TAG_RE = /:VolumeTag\s*=\s*([^:]*?)\s*(?::|$)/;

/**
 * Parses `mtx status` output (mtx 1.2/1.3): the header line, one "Data Transfer Element N:Empty|Full (Storage
 * Element S Loaded):VolumeTag = T" line per drive and one "Storage Element N[ IMPORT/EXPORT]:Empty|Full
 * :VolumeTag=T" line per slot; AlternateVolumeTag and unknown lines are ignored. A tag that is blank is absent.
 */
export function parseMtxStatus(text: string): ChangerStatus {
  const drives: ChangerDrive[] = [];
  const slots: ChangerSlot[] = [];
  let header = false;
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*Storage Changer\b/.test(line)) {
      header = true;
      continue;
    }
    let m = DRIVE_RE.exec(line);
    if (m) {
      const d: ChangerDrive = { drive: Number(m[1]), full: m[2] === 'Full' };
      if (m[3] !== undefined) d.slot = Number(m[3]);
      const tag = TAG_RE.exec(m[4] ?? '')?.[1];
      if (tag) d.tag = tag;
      drives.push(d);
      continue;
    }
    m = SLOT_RE.exec(line);
    if (m) {
      const s: ChangerSlot = { slot: Number(m[1]), full: m[3] === 'Full' };
      if (m[2]) s.importExport = true;
      const tag = TAG_RE.exec(m[4] ?? '')?.[1];
      if (tag) s.tag = tag;
      slots.push(s);
    }
  }
  if (!header && drives.length === 0 && slots.length === 0) {
    throw new CairnError('CAIRN_E_CHANGER_FAILED', `mtx status printed nothing a changer reports (${JSON.stringify(text.slice(0, 200))}).`, { output: text.slice(0, 2000) });
  }
  return { drives, slots };
}
