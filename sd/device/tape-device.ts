/**
 * TapeDevice: the SD's sequential device (sequential-device.ts) — one tape
 * drive (a vtape file through VtapeDrive, or a real drive through
 * NativeTapeDrive), optionally in an autochanger (Changer). Owns which tape
 * is in the drive and what its label says, the changer's slots and the
 * labels learnt from them (by barcode or by loading and reading), opening
 * the drive with retries, labelling only blank tapes on its own, the mount
 * request a job waits on when its tape is nowhere to be found, and the one
 * volume open on the drive at a time.
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CairnError, isCairnError } from '../../plugin-api/index.js';
import { BlockKind, checkBlock } from '../volume/block.js';
import { parseLabel, type VolumeLabel } from '../volume/labels.js';
import type { Changer } from './changer.js';
import type { MediaStatus, MountRequest, OpenOptions, SequentialDevice, SlotInfo, TapeVolume } from './sequential-device.js';
import type { TapeDrive } from './tape-drive.js';
import { CountingTapeDrive, zeroCounters } from './tape-trace.js';
import { DriveVolume } from './tape-volume.js';

export interface TapeDeviceOptions {
  /** 'vtape' or 'tape' (the registry key). */
  type: 'vtape' | 'tape';
  /** The SD's name for the device (messages, mount requests). */
  name?: string;
  /** Opens the drive (non-blocking: an empty drive opens). */
  openDrive: () => Promise<TapeDrive>;
  /** The drive's path (messages). */
  drivePath: string;
  changer?: Changer;
  /** The drive's index in the changer (mtx numbers drives from 0). */
  driveIndex?: number;
  mediaType?: string;
  /** Block size the label is first read with (the SD's tape default, 256 KiB). */
  blockSize?: number;
  stateDir?: string | null;
  /** How long a job waits for its tape (mount request) before CAIRN_E_MEDIA_WAIT_TIMEOUT. */
  maxMediaWaitMs?: number;
  /** While waiting, the drive and changer are looked at again this often (and at once on mount/label). */
  mediaPollMs?: number;
  /** A drive that will not open is retried this many times, this far apart. */
  openAttempts?: number;
  openRetryMs?: number;
  /** Told of every new mount request (and null when it is satisfied or given up). */
  onMountRequest?: (r: MountRequest | null) => void;
  log?: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

/** Defaults (docs/config.md): a job waits half an hour for a tape; the drive is looked at every 10 s meanwhile. */
export const DEFAULT_MAX_MEDIA_WAIT_MS = 30 * 60 * 1000;
export const DEFAULT_MEDIA_POLL_MS = 10_000;
/** A drive that does not open (busy, not ready after a load) is tried 5 times, 2 s apart. */
export const DEFAULT_OPEN_ATTEMPTS = 5;
export const DEFAULT_OPEN_RETRY_MS = 2000;
/** Read buffer sizes tried for a label whose block size is not known yet (a drive refuses a read buffer outside its limits). */
const LABEL_READ_SIZES = [64 * 1024, 256 * 1024, 1 << 20, 4 << 20, 16 << 20, 64 << 20];

type Loaded = { volume: string | null; label?: VolumeLabel; slot?: number; foreign?: boolean };

const code = (err: unknown): string | undefined => (isCairnError(err) ? err.code : undefined);
const NO_TAPE = new Set(['CAIRN_E_TAPE_NO_MEDIUM', 'CAIRN_E_TAPE_NOT_FOUND']);

export class TapeDevice implements SequentialDevice {
  readonly access = 'sequential' as const;
  readonly type: 'vtape' | 'tape';
  readonly mediaType: string;
  readonly stateDir: string | null;
  readonly name: string;
  private drive: CountingTapeDrive | null = null;
  private readonly counters = zeroCounters();
  /** What is in the drive; undefined: not looked at yet. */
  private loaded: Loaded | null | undefined = undefined;
  /** slot → what the device learnt of its tape (tag, label). */
  private readonly slots = new Map<number, SlotInfo>();
  private open_: DriveVolume | null = null;
  private request: MountRequest | null = null;
  private wakers: Array<() => void> = [];
  /** Device operations (load, label, open) run one at a time. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: TapeDeviceOptions) {
    this.type = o.type;
    this.mediaType = o.mediaType ?? (o.type === 'vtape' ? 'VTape' : 'Tape');
    this.stateDir = o.stateDir ?? null;
    this.name = o.name ?? o.drivePath;
    this.loadInventory();
  }

  /** The slots' labels learnt earlier (a cache: every load checks the label it finds). */
  private get inventoryFile(): string | null {
    return this.stateDir && this.o.changer ? path.join(this.stateDir, `tape-inventory-${path.basename(this.o.drivePath).replace(/[^A-Za-z0-9._-]/g, '_')}.json`) : null;
  }

  private loadInventory(): void {
    const f = this.inventoryFile;
    if (!f) return;
    try {
      for (const s of JSON.parse(readFileSync(f, 'utf8')) as SlotInfo[]) this.slots.set(s.slot, s);
    } catch {
      // none yet, or unreadable: the labels are read again when needed
    }
  }

  private saveInventory(): void {
    const f = this.inventoryFile;
    if (!f) return;
    try {
      writeFileSync(`${f}.tmp`, JSON.stringify([...this.slots.values()]) + '\n');
      renameSync(`${f}.tmp`, f);
    } catch (err) {
      this.o.log?.warn({ device: this.name, file: f, err: String(err) }, 'could not save the tape inventory');
    }
  }

  /** Brings the slot list up to date with the changer (full/empty, tags) without moving anything. */
  private async refreshSlots(): Promise<void> {
    const ch = this.o.changer;
    if (!ch) return;
    const st = await ch.status();
    const inDrive = st.drives[this.driveIndex]?.slot;
    for (const s of st.slots) {
      const known = this.slots.get(s.slot);
      if (s.slot === inDrive) continue; // its cartridge is in the drive
      if (!s.full) this.slots.delete(s.slot);
      else if (!known || known.tag !== s.tag) this.slots.set(s.slot, { slot: s.slot, full: true, ...(s.tag ? { tag: s.tag } : {}) });
    }
    this.saveInventory();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private get driveIndex(): number {
    return this.o.driveIndex ?? 0;
  }

  // ---------------------------------------------------------------- the drive

  /** The drive, opened (with retries) — null when it holds no tape and cannot be opened without one. */
  private async theDrive(): Promise<CountingTapeDrive | null> {
    if (this.drive) return this.drive;
    const attempts = this.o.openAttempts ?? DEFAULT_OPEN_ATTEMPTS;
    for (let i = 1; ; i++) {
      try {
        this.drive = new CountingTapeDrive(await this.o.openDrive(), this.counters);
        return this.drive;
      } catch (err) {
        if (NO_TAPE.has(code(err) ?? '')) return null;
        if (i >= attempts || !isCairnError(err) || !err.retryable && code(err) !== 'CAIRN_E_TAPE_IO' && code(err) !== 'CAIRN_E_TAPE_BUSY') {
          throw new CairnError('CAIRN_E_DEVICE_IO', `Tape drive ${this.o.drivePath} (device ${this.name}) will not open: ${(err as Error).message}`, { device: this.name, drive: this.o.drivePath, attempts: i, tapeCode: code(err) }, { cause: err, retryable: true });
        }
        this.o.log?.warn({ device: this.name, drive: this.o.drivePath, attempt: i, code: code(err) }, 'tape drive will not open; retrying');
        await sleep(this.o.openRetryMs ?? DEFAULT_OPEN_RETRY_MS);
      }
    }
  }

  /** Reads the label of the tape in the drive (from BOT); null: no tape. */
  private async inspect(): Promise<Loaded | null> {
    const d = await this.theDrive();
    if (!d) return (this.loaded = null);
    let st = await d.status();
    if (!st.online) {
      try {
        await d.load();
        st = await d.status();
      } catch (err) {
        if (!NO_TAPE.has(code(err) ?? '') && code(err) !== 'CAIRN_E_TAPE_IO') throw err;
      }
      if (!st.online) return (this.loaded = null);
    }
    const slot = this.o.changer ? (await this.o.changer.status()).drives[this.driveIndex]?.slot : undefined;
    const found = await this.readLabelAtBot(d);
    const loaded: Loaded = found === 'blank' ? { volume: '' } : found === 'foreign' ? { volume: null, foreign: true } : { volume: found.volumeName, label: found };
    if (slot !== undefined) {
      loaded.slot = slot;
      const s = this.slots.get(slot) ?? { slot, full: true };
      s.volume = loaded.volume ?? undefined;
      this.slots.set(slot, s);
      this.saveInventory();
    }
    return (this.loaded = loaded);
  }

  private async readLabelAtBot(d: TapeDrive): Promise<VolumeLabel | 'blank' | 'foreign'> {
    const sizes = [...new Set([this.o.blockSize ?? 256 * 1024, ...LABEL_READ_SIZES])].sort((a, b) => a - b);
    for (const size of sizes) {
      await d.rewind();
      const buf = Buffer.allocUnsafe(size);
      let n: number;
      try {
        n = await d.readBlock(buf);
      } catch (err) {
        if (code(err) === 'CAIRN_E_TAPE_BLOCK_SIZE') continue;
        if (code(err) === 'CAIRN_E_TAPE_END_OF_DATA' || code(err) === 'CAIRN_E_TAPE_IO') {
          // A blank tape reads as a blank check at BOT; tell it from a read error: is there anything before end of data?
          await d.rewind();
          await d.eom();
          try {
            await d.bsr(1);
          } catch (e2) {
            if (code(e2) === 'CAIRN_E_TAPE_BEGINNING_OF_MEDIUM') {
              await d.rewind();
              return 'blank';
            }
          }
          throw err;
        }
        throw err;
      }
      await d.rewind();
      if (n === 0) return 'foreign';
      const c = checkBlock(buf.subarray(0, n), n);
      if (!c.ok || c.header.kind !== BlockKind.VOLUME_LABEL || c.header.blockNumber !== 0) return 'foreign';
      try {
        return parseLabel<VolumeLabel>(buf.subarray(c.header.headerLength, c.header.headerLength + c.header.payloadLength), BlockKind.VOLUME_LABEL);
      } catch {
        return 'foreign';
      }
    }
    return 'foreign';
  }

  private async whatIsLoaded(): Promise<Loaded | null> {
    if (this.loaded === undefined) return this.inspect();
    return this.loaded;
  }

  /** Changer: takes the drive's tape back to its slot (or the first empty one). */
  private async unloadToSlot(): Promise<void> {
    const ch = this.o.changer;
    if (!ch) throw new CairnError('CAIRN_E_DEVICE_TYPE', `Device ${this.name} has no changer.`, { device: this.name });
    const st = await ch.status();
    const dr = st.drives[this.driveIndex];
    if (!dr?.full) {
      this.loaded = null;
      return;
    }
    if (this.drive) await this.drive.offline().catch(() => undefined);
    const slot = dr.slot ?? st.slots.find((s) => !s.full && !s.importExport)?.slot;
    if (slot === undefined) throw new CairnError('CAIRN_E_CHANGER_FAILED', `Changer ${ch.device}: no empty slot to unload drive ${this.driveIndex} into.`, { changer: ch.device });
    await ch.unload(slot, this.driveIndex);
    this.loaded = null;
  }

  /** Changer: puts the tape of `slot` in the drive and reads its label. */
  private async loadSlot(slot: number): Promise<Loaded | null> {
    const ch = this.o.changer as Changer;
    const dr = (await ch.status()).drives[this.driveIndex];
    if (dr?.full && dr.slot === slot && this.loaded !== undefined) return this.loaded;
    if (dr?.full) await this.unloadToSlot();
    await ch.load(slot, this.driveIndex);
    this.counters.loads++;
    if (this.drive) {
      await this.drive.load().catch(async () => {
        // The drive lost the tape's state: reopen it.
        await this.drive?.close().catch(() => undefined);
        this.drive = null;
      });
    }
    this.loaded = undefined;
    return this.inspect();
  }

  /** Brings a tape matching `want` into the drive: the loaded one, else one from the changer. Null if none. */
  private async bring(want: (l: Loaded) => boolean, hint?: (s: SlotInfo) => boolean): Promise<Loaded | null> {
    const cur = await this.whatIsLoaded();
    if (cur && want(cur)) return cur;
    const ch = this.o.changer;
    if (!ch) return null;
    await this.refreshSlots();
    const st = await ch.status();
    const candidates = st.slots.filter((s) => s.full && !s.importExport);
    const match = (s: SlotInfo) => s.volume !== undefined && want({ volume: s.volume });
    // Known tapes first, then the ones the hint (barcode) suggests, then every tape not read yet.
    const order = [
      ...candidates.filter((s) => match(this.slots.get(s.slot) as SlotInfo)),
      ...candidates.filter((s) => hint?.(this.slots.get(s.slot) as SlotInfo) && !match(this.slots.get(s.slot) as SlotInfo)),
      ...candidates.filter((s) => this.slots.get(s.slot)?.volume === undefined),
    ];
    const tried = new Set<number>();
    for (const s of order) {
      if (tried.has(s.slot)) continue;
      tried.add(s.slot);
      const l = await this.loadSlot(s.slot);
      if (l && want(l)) return l;
    }
    return null;
  }

  // ---------------------------------------------------------------- waiting for media

  private wake(): void {
    for (const w of this.wakers.splice(0)) w();
  }

  private async withMedia<T>(req: Omit<MountRequest, 'since' | 'maxWaitMs' | 'device'>, opts: OpenOptions, attempt: () => Promise<T | null>): Promise<T> {
    const maxWaitMs = this.o.maxMediaWaitMs ?? DEFAULT_MAX_MEDIA_WAIT_MS;
    const since = Date.now();
    try {
      for (;;) {
        const got = await this.serial(attempt);
        if (got !== null) return got;
        if (!opts.wait) throw new CairnError('CAIRN_E_MEDIA_NOT_AVAILABLE', `${req.message} (device ${this.name}: not in the drive${this.o.changer ? ' nor in the changer' : ''}).`, { device: this.name, volume: req.volume, mode: req.mode });
        if (!this.request) {
          this.request = { ...req, device: this.name, since, maxWaitMs };
          this.o.log?.warn({ device: this.name, volume: req.volume, pool: req.pool, maxWaitMs }, `mount request: ${req.message}`);
          this.o.onMountRequest?.(this.request);
        }
        const left = since + maxWaitMs - Date.now();
        if (left <= 0) throw new CairnError('CAIRN_E_MEDIA_WAIT_TIMEOUT', `Gave up waiting ${Math.round(maxWaitMs / 1000)} s for media on device ${this.name}: ${req.message}.`, { device: this.name, volume: req.volume, waitedMs: Date.now() - since });
        opts.signal?.throwIfAborted();
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, Math.min(left, this.o.mediaPollMs ?? DEFAULT_MEDIA_POLL_MS));
          const onAbort = () => done();
          opts.signal?.addEventListener('abort', onAbort, { once: true });
          this.wakers.push(done);
          function done() {
            clearTimeout(t);
            opts.signal?.removeEventListener('abort', onAbort);
            resolve();
          }
        });
        this.loaded = this.o.changer ? this.loaded : undefined; // without a changer, an operator may have swapped the tape
      }
    } finally {
      if (this.request && this.request.since === since) {
        this.request = null;
        this.o.onMountRequest?.(null);
      }
    }
  }

  private busy(what: string): CairnError {
    return new CairnError('CAIRN_E_VOLUME_BUSY', `Device ${this.name} is in use (volume ${this.open_?.volume} is open); cannot ${what} now.`, { device: this.name, volume: this.open_?.volume, why: what });
  }

  private handle(l: Loaded, mode: 'read' | 'append'): DriveVolume {
    const d = this.drive as CountingTapeDrive;
    const v = new DriveVolume(d, l.volume as string, l.label as VolumeLabel, mode, () => {
      if (this.open_ === v) this.open_ = null;
      this.wake();
    });
    this.open_ = v;
    return v;
  }

  // ---------------------------------------------------------------- Device

  list(): Promise<string[]> {
    return this.serial(() => this.names());
  }

  private async names(): Promise<string[]> {
    const names = new Set<string>();
    await this.refreshSlots();
    const cur = await this.whatIsLoaded();
    if (cur?.volume) names.add(cur.volume);
    for (const s of this.slots.values()) if (s.volume) names.add(s.volume);
    return [...names].sort();
  }

  open(volume: string, mode: 'read' | 'append', opts: OpenOptions = {}): Promise<TapeVolume> {
    const message = `mount volume ${volume}${opts.pool ? ` (pool ${opts.pool})` : ''} for ${mode === 'read' ? 'reading' : 'appending'}`;
    return this.withMedia({ volume, pool: opts.pool, mode, message }, opts, async () => {
      if (this.open_) throw this.busy(`open volume ${volume}`);
      const l = await this.bring((x) => x.volume === volume, (s) => s.tag === volume);
      if (!l) return null;
      return this.handle(l, mode);
    });
  }

  create(volume: string, labelBlock: Buffer, opts: OpenOptions = {}): Promise<TapeVolume> {
    const message = `mount a blank tape to be labelled ${volume}${opts.pool ? ` (pool ${opts.pool})` : ''}`;
    return this.withMedia({ volume: null, pool: opts.pool, mode: 'append', message }, opts, async () => {
      if (this.open_) throw this.busy(`label volume ${volume}`);
      if ((await this.names()).includes(volume)) throw new CairnError('CAIRN_E_VOLUME_EXISTS', `A tape labelled ${volume} is already in device ${this.name}.`, { volume, device: this.name });
      const l = await this.bring((x) => x.volume === '');
      if (!l) return null;
      await this.writeLabel(volume, labelBlock, l);
      return this.handle(this.loaded as Loaded, 'append');
    });
  }

  /** Writes a label block at BOT and a filemark (durable); the drive's tape is then `volume`. */
  private async writeLabel(volume: string, labelBlock: Buffer, l: Loaded): Promise<void> {
    const d = this.drive as CountingTapeDrive;
    const c = checkBlock(labelBlock, labelBlock.length);
    if (!c.ok || c.header.kind !== BlockKind.VOLUME_LABEL) throw new CairnError('CAIRN_E_VOLUME_LABEL', 'internal: not a volume label block', { volume });
    const label = parseLabel<VolumeLabel>(labelBlock.subarray(c.header.headerLength, c.header.headerLength + c.header.payloadLength), BlockKind.VOLUME_LABEL);
    try {
      await d.rewind();
      await d.writeBlock(labelBlock);
      await d.writeFilemarks(1);
    } catch (err) {
      this.loaded = undefined;
      throw new CairnError('CAIRN_E_DEVICE_IO', `Labelling ${volume} on device ${this.name} failed: ${(err as Error).message}`, { volume, device: this.name, tapeCode: code(err) }, { cause: err, retryable: true });
    }
    this.loaded = { volume, label, ...(l.slot !== undefined ? { slot: l.slot } : {}) };
    if (l.slot !== undefined) {
      this.slots.set(l.slot, { ...(this.slots.get(l.slot) ?? { slot: l.slot, full: true }), volume });
      this.saveInventory();
    }
    this.o.log?.info({ device: this.name, volume, slot: l.slot }, 'labelled tape');
    this.wake();
  }

  mediaStatus(): MediaStatus {
    const l = this.loaded;
    return {
      device: this.name,
      type: this.type,
      state: this.open_ ? 'open' : this.request ? 'waiting-for-media' : 'idle',
      loaded: l ? { volume: l.volume, ...(l.slot !== undefined ? { slot: l.slot } : {}), ...(l.foreign ? { foreign: true } : {}) } : null,
      slots: [...this.slots.values()].sort((a, b) => a.slot - b.slot).map((s) => ({ ...s })),
      mountRequest: this.request ? { ...this.request } : null,
      counters: { ...this.counters },
    };
  }

  scan(): Promise<SlotInfo[]> {
    return this.serial(async () => {
      if (this.open_) throw this.busy('scan the slots');
      this.slots.clear();
      this.loaded = undefined;
      await this.bring(() => false);
      return this.mediaStatus().slots;
    });
  }

  mount(slot?: number): Promise<MediaStatus['loaded']> {
    return this.serial(async () => {
      if (this.open_) throw this.busy('mount');
      if (slot !== undefined) {
        if (!this.o.changer) throw new CairnError('CAIRN_E_DEVICE_TYPE', `Device ${this.name} has no changer: put the tape in the drive and mount without a slot.`, { device: this.name, slot });
        await this.loadSlot(slot);
      } else {
        this.loaded = undefined;
        await this.inspect();
      }
      this.wake();
      return this.mediaStatus().loaded;
    });
  }

  unmount(): Promise<void> {
    return this.serial(async () => {
      if (this.open_) throw this.busy('unmount');
      if (this.o.changer) await this.unloadToSlot();
      else {
        const d = await this.theDrive();
        await d?.offline();
        this.loaded = null;
      }
    });
  }

  labelMedia(volume: string, labelBlock: Buffer, opts: { slot?: number; overwrite?: (existing: VolumeLabel | 'foreign') => Promise<boolean> | boolean }): Promise<{ previous: VolumeLabel | 'foreign' | null }> {
    return this.serial(async () => {
      if (this.open_) throw this.busy(`label ${volume}`);
      const l = opts.slot !== undefined ? await this.loadSlot(opts.slot) : await this.whatIsLoaded();
      if (!l) throw new CairnError('CAIRN_E_MEDIA_NOT_AVAILABLE', `No tape in device ${this.name}${opts.slot !== undefined ? ` from slot ${opts.slot}` : ''} to label.`, { device: this.name, slot: opts.slot });
      const previous: VolumeLabel | 'foreign' | null = l.foreign ? 'foreign' : l.label ?? null;
      if (previous !== null) {
        const ok = opts.overwrite ? await opts.overwrite(previous) : false;
        if (!ok) {
          const what = previous === 'foreign' ? 'data that is not a Cairn volume' : `the label of volume ${previous.volumeName} (pool ${previous.pool})`;
          throw new CairnError('CAIRN_E_VOLUME_LABELLED', `The tape in device ${this.name} holds ${what}, which is not recyclable; it is not overwritten.`, { device: this.name, volume, existing: previous === 'foreign' ? null : previous.volumeName, foreign: previous === 'foreign' });
        }
      }
      if (previous === null && (await this.names()).includes(volume)) throw new CairnError('CAIRN_E_VOLUME_EXISTS', `A tape labelled ${volume} is already in device ${this.name}.`, { volume, device: this.name });
      await this.writeLabel(volume, labelBlock, l);
      return { previous };
    });
  }

  relabel(volume: string, labelBlock: Buffer): Promise<{ previous: VolumeLabel }> {
    return this.serial(async () => {
      if (this.open_) throw this.busy(`relabel ${volume}`);
      const l = await this.bring((x) => x.volume === volume, (s) => s.tag === volume);
      if (!l?.label) throw new CairnError('CAIRN_E_VOLUME_NOT_FOUND', `Volume ${volume} is not in device ${this.name}.`, { volume, device: this.name });
      const previous = l.label;
      await this.writeLabel(volume, labelBlock, l);
      return { previous };
    });
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      await this.open_?.close().catch(() => undefined);
      await this.drive?.close().catch(() => undefined);
      this.drive = null;
      this.loaded = undefined;
    });
  }
}
