/**
 * VtapeChanger: an autochanger emulated over a folder — the library's
 * cartridges are vtape files. `slot-N` (N from 1) is the cartridge in slot N
 * (no file: an empty slot); the file named as the drive (`drive0` by default:
 * the vtape file a VtapeDrive opens, or /dev/nst-cairn-drive0 under the test
 * shim) is the cartridge in drive 0. Loading renames a slot file to the drive
 * file, unloading renames it back (rename is atomic: a cartridge is never in
 * two places). `changer.json` remembers which slot each drive's cartridge
 * came from. No barcodes: the SD learns which tape is where by reading labels.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { CairnError } from '../../plugin-api/index.js';
import type { Changer, ChangerStatus } from './changer.js';
import { createVtapeFile } from './vtape-format.js';

export interface VtapeChangerOptions {
  /** The folder. */
  path: string;
  /** Number of slots. */
  slots: number;
  /** File names of the drives' cartridges, drive 0 first (default ['drive0']). */
  drives?: string[];
}

interface ChangerState {
  /** drive index → slot its cartridge came from */
  loaded: Record<string, number>;
}

export class VtapeChanger implements Changer {
  readonly kind = 'vtape' as const;
  readonly device: string;
  readonly slots: number;
  readonly driveFiles: string[];

  constructor(o: VtapeChangerOptions) {
    this.device = path.resolve(o.path);
    this.slots = o.slots;
    this.driveFiles = o.drives ?? ['drive0'];
  }

  slotFile(slot: number): string {
    return path.join(this.device, `slot-${slot}`);
  }

  driveFile(drive: number): string {
    return path.join(this.device, this.driveFiles[drive] ?? `drive${drive}`);
  }

  /** Creates the folder and a blank vtape in every empty slot (and no cartridge in the drives); returns the slots filled. */
  async populate(o: { capacity: number; earlyWarning?: number; maxBlock?: number }): Promise<number[]> {
    await fs.mkdir(this.device, { recursive: true });
    const st = await this.status();
    const made: number[] = [];
    const inDrives = new Set(st.drives.map((d) => d.slot).filter((s): s is number => s !== undefined));
    for (const s of st.slots) {
      if (s.full || inDrives.has(s.slot)) continue;
      await createVtapeFile(this.slotFile(s.slot), { capacity: o.capacity, earlyWarning: o.earlyWarning, maxBlock: o.maxBlock });
      made.push(s.slot);
    }
    return made;
  }

  async status(): Promise<ChangerStatus> {
    const state = await this.readState();
    const slots = [];
    for (let s = 1; s <= this.slots; s++) slots.push({ slot: s, full: await exists(this.slotFile(s)) });
    const drives = [];
    for (let d = 0; d < this.driveFiles.length; d++) {
      const full = await exists(this.driveFile(d));
      const slot = state.loaded[String(d)];
      drives.push(full && slot !== undefined ? { drive: d, full, slot } : { drive: d, full });
    }
    return { drives, slots };
  }

  async load(slot: number, drive: number): Promise<void> {
    this.check(slot, drive, 'load');
    if (await exists(this.driveFile(drive))) throw this.fail('load', slot, drive, `drive ${drive} is full`);
    if (!(await exists(this.slotFile(slot)))) throw this.fail('load', slot, drive, `slot ${slot} is empty`);
    await fs.rename(this.slotFile(slot), this.driveFile(drive));
    const state = await this.readState();
    state.loaded[String(drive)] = slot;
    await this.writeState(state);
  }

  async unload(slot: number, drive: number): Promise<void> {
    this.check(slot, drive, 'unload');
    if (!(await exists(this.driveFile(drive)))) throw this.fail('unload', slot, drive, `drive ${drive} is empty`);
    if (await exists(this.slotFile(slot))) throw this.fail('unload', slot, drive, `slot ${slot} is full`);
    await fs.rename(this.driveFile(drive), this.slotFile(slot));
    const state = await this.readState();
    delete state.loaded[String(drive)];
    await this.writeState(state);
  }

  private check(slot: number, drive: number, op: string): void {
    if (!Number.isInteger(slot) || slot < 1 || slot > this.slots) throw this.fail(op, slot, drive, `no slot ${slot} (slots 1–${this.slots})`);
    if (!Number.isInteger(drive) || drive < 0 || drive >= this.driveFiles.length) throw this.fail(op, slot, drive, `no drive ${drive}`);
  }

  private fail(op: string, slot: number, drive: number, why: string): CairnError {
    return new CairnError('CAIRN_E_CHANGER_FAILED', `Changer ${this.device}: ${op} slot ${slot} drive ${drive} failed: ${why}.`, { changer: this.device, command: `${op} ${slot} ${drive}`, why });
  }

  private async readState(): Promise<ChangerState> {
    try {
      const s = JSON.parse(await fs.readFile(path.join(this.device, 'changer.json'), 'utf8')) as Partial<ChangerState>;
      return { loaded: s.loaded ?? {} };
    } catch {
      return { loaded: {} };
    }
  }

  private async writeState(s: ChangerState): Promise<void> {
    const file = path.join(this.device, 'changer.json');
    await fs.writeFile(`${file}.tmp`, JSON.stringify(s) + '\n');
    await fs.rename(`${file}.tmp`, file);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}
