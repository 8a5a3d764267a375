/**
 * Volume scanner: reads a volume's blocks in order and turns them into
 * labels and ReadItems. Reassembles records that span blocks, reports bad
 * blocks and resyncs at the next good block of the same session using the
 * block's first-record offset. Shared by read sessions and readVolume().
 * Blocks are read into reused buffers and records reassembled into reused
 * ones (ScanBuffers, sd/wire/buffer-loans.ts): each record item holds its
 * buffer and carries the release; a consumer that never calls it only costs
 * the reuse.
 */
import type { ReadItem } from '../api.js';
import { READ_CHUNK_BLOCKS, REASSEMBLY_BUFFER_BYTES, SCAN_BUFFERS_KEPT } from '../defaults.js';
import { LoanRing, type Loan } from '../wire/buffer-loans.js';
import type { VolumeHandle } from '../device/device.js';
import type { TapeVolume } from '../device/sequential-device.js';
import { BLOCK_HEADER_BYTES, BlockKind, NO_RECORD_START, blockError, checkBlock } from './block.js';
import { FRAGMENT_HEADER_BYTES, readFragmentHeader, type FragmentHeader } from './fragment.js';
import { parseLabel, type SessionEndLabel, type SessionStartLabel, type VolumeLabel } from './labels.js';
import { lastFileIndexOf } from '../../plugin-api/index.js';

export type ScanItem =
  | ReadItem
  | { kind: 'volume-label'; label: VolumeLabel }
  | { kind: 'session-start'; block: number; label: SessionStartLabel }
  | { kind: 'session-end'; block: number; label: SessionEndLabel };

export interface ScanOptions {
  /** Tape: the tape file holding startBlock (the read positions there with fsf/fsr); default 1 (the first data file). */
  startFile?: number;
  /** First and last block to read (inclusive); default the whole volume. */
  startBlock?: number;
  endBlock?: number;
  /** Only blocks of this session. */
  sessionId?: number;
  /** Inclusive file-index ranges to yield; absent = all. */
  fileIndexes?: Array<[number, number]>;
  /** Carries partly read records from one volume to the next (a session continued after rollover). */
  state?: ScanState;
  /** Reusable memory, shared by the scans of one reader (default: the scan's own). */
  buffers?: ScanBuffers;
  /** Told of every good block (before the session filter): bscan learns each session's last block on a volume from it. */
  onBlock?: (block: number, sessionId: number, kind: number) => void;
}

/**
 * The reusable memory of one reader's scans: buffers the blocks are read into
 * (one per size) and buffers spanning records are reassembled in, carved one
 * after another. A buffer returns to its ring when the scanner and every record
 * item in it have let go.
 */
export class ScanBuffers {
  private readonly reads = new Map<number, LoanRing>();
  private readonly records = new LoanRing(REASSEMBLY_BUFFER_BYTES, SCAN_BUFFERS_KEPT);
  private arena: { loan: Loan; used: number } | null = null;

  /** A buffer of at least `bytes` for one device read, held once by the caller. */
  readBuffer(bytes: number): Loan {
    let ring = this.reads.get(bytes);
    if (!ring) {
      ring = new LoanRing(bytes, SCAN_BUFFERS_KEPT);
      this.reads.set(bytes, ring);
    }
    return ring.acquire();
  }

  /** `n` bytes for a record reassembled from fragments, with its release; a record too big to share a buffer gets its own. */
  recordBuffer(n: number): { bytes: Buffer; release?: () => void } {
    if (n > REASSEMBLY_BUFFER_BYTES) return { bytes: Buffer.allocUnsafe(n) };
    if (!this.arena || this.arena.used + n > REASSEMBLY_BUFFER_BYTES) {
      this.arena?.loan.release();
      this.arena = { loan: this.records.acquire(), used: 0 };
    }
    const a = this.arena;
    const bytes = a.loan.bytes.subarray(a.used, a.used + n);
    a.used += n;
    return { bytes, release: a.loan.hold().releaser() };
  }

  /** Buffers made so far (tests: with reuse it stays near the number in flight). */
  get created(): number {
    let n = this.records.created;
    for (const r of this.reads.values()) n += r.created;
    return n;
  }
}

/** Reassembly state of a scan; pass the same one to consecutive volumes of one session. */
export class ScanState {
  readonly sessions = new Map<number, SessionState>();
  /** Bumped at every bad block: a session whose epoch is behind must resync. */
  epoch = 0;
}

interface PendingRecord {
  h: FragmentHeader;
  buf: Buffer;
  release?: () => void;
  filled: number;
  block: number;
  file: number;
}

interface SessionState {
  partial: PendingRecord | null;
  /** Bad-block epoch this session has seen; behind the scanner's = resync needed. */
  epoch: number;
}

/** Reads and checks the volume label (block 0). Throws CAIRN_E_VOLUME_LABEL / _VERSION. */
export async function readVolumeLabel(handle: VolumeHandle): Promise<VolumeLabel> {
  const head = Buffer.allocUnsafe(BLOCK_HEADER_BYTES);
  const n = await handle.read(head, 0);
  if (n < BLOCK_HEADER_BYTES) throw blockError(handle.volume, 0, 'volume has no label', 'CAIRN_E_VOLUME_LABEL');
  const payloadLength = head.readUInt32BE(28);
  const headerLength = head.readUInt16BE(12);
  if (payloadLength > 1024 * 1024 || headerLength < BLOCK_HEADER_BYTES || headerLength > 4096) throw blockError(handle.volume, 0, 'volume label header is corrupt', 'CAIRN_E_VOLUME_LABEL');
  const whole = Buffer.allocUnsafe(headerLength + payloadLength);
  await handle.read(whole, 0);
  const check = checkBlock(whole, whole.length);
  if (!check.ok) throw blockError(handle.volume, 0, `volume label: ${check.reason}`, check.code === 'CAIRN_E_VOLUME_VERSION' ? check.code : 'CAIRN_E_VOLUME_LABEL');
  if (check.header.kind !== BlockKind.VOLUME_LABEL) throw blockError(handle.volume, 0, 'block 0 is not a volume label', 'CAIRN_E_VOLUME_LABEL');
  const label = parseLabel<VolumeLabel>(whole.subarray(headerLength, headerLength + payloadLength), BlockKind.VOLUME_LABEL);
  if (label.volumeName !== handle.volume) {
    throw blockError(handle.volume, 0, `label names volume ${label.volumeName}, not ${handle.volume}`, 'CAIRN_E_VOLUME_LABEL');
  }
  return label;
}

/**
 * Reads `count` blocks from block `blockNo` into chunk: the bytes read (fewer at the end of the volume) and, per
 * block, its tape file. A file volume reads them at their position; a tape reads them one tape block at a time
 * where it stands (the scan positioned it first), crossing filemarks.
 */
export type ChunkReader = (chunk: Buffer, blockNo: number, count: number, files: number[]) => Promise<number>;

export function chunkReader(handle: VolumeHandle | TapeVolume, bs: number): ChunkReader {
  if (handle.access === 'random') {
    return async (chunk, blockNo, count, files) => {
      files.fill(0, 0, count);
      return handle.read(chunk, blockNo * bs);
    };
  }
  return async (chunk, _blockNo, count, files) => {
    let got = 0;
    for (let i = 0; i < count; i++) {
      const slot = chunk.subarray(i * bs, (i + 1) * bs);
      const r = await handle.readBlock(slot);
      if (r === null) break;
      // A tape block of another size is not one of this volume's blocks: it reads as a bad block.
      if (r.length !== bs) slot.fill(0, Math.min(r.length, bs));
      files[i] = r.file;
      got += bs;
    }
    return got;
  };
}

export async function* scanVolume(handle: VolumeHandle | TapeVolume, opts: ScanOptions = {}): AsyncGenerator<ScanItem> {
  const volume = handle.volume;
  const label = handle.access === 'random' ? await readVolumeLabel(handle) : handle.label;
  if (handle.access === 'sequential') await handle.seek(opts.startFile ?? 1, Math.max(opts.startBlock ?? 1, 1));
  const read = chunkReader(handle, label.blockSize);
  const files: number[] = new Array<number>(READ_CHUNK_BLOCKS).fill(0);
  const bs = label.blockSize;
  const start = opts.startBlock ?? 0;
  if (start === 0) yield { kind: 'volume-label', label };
  const end = opts.endBlock ?? Number.MAX_SAFE_INTEGER;
  const scan = opts.state ?? new ScanState();
  const buffers = opts.buffers ?? new ScanBuffers();
  const sessions = scan.sessions;
  let blockNo = Math.max(start, 1);
  const ranges = opts.fileIndexes;
  // A pack record carries a span of file indexes (fileIndex … fileIndex + streamNo): kept when any wanted index is in it.
  const wanted = (first: number, last: number): boolean => !ranges || ranges.some(([a, b]) => last >= a && first <= b);

  while (blockNo <= end) {
    const count = Math.min(READ_CHUNK_BLOCKS, end - blockNo + 1);
    const loan = buffers.readBuffer(READ_CHUNK_BLOCKS * bs);
    const chunk = loan.bytes.subarray(0, count * bs);
    const got = await read(chunk, blockNo, count, files);
    const whole = Math.floor(got / bs);
    try {
      for (let i = 0; i < whole; i++, blockNo++) {
        const block = chunk.subarray(i * bs, (i + 1) * bs);
        const check = checkBlock(block, bs);
        let reason = check.ok ? null : check.reason;
        if (check.ok && check.header.blockNumber !== blockNo) reason = `block header says block ${check.header.blockNumber}`;
        if (!check.ok || reason) {
          scan.epoch++;
          for (const s of sessions.values()) dropPartial(s);
          yield { kind: 'bad-block', volume, file: files[i], block: blockNo, reason: reason ?? 'bad block', code: check.ok ? 'CAIRN_E_VOLUME_BAD_BLOCK' : check.code };
          continue;
        }
        const h = check.header;
        opts.onBlock?.(blockNo, h.sessionId, h.kind);
        if (opts.sessionId !== undefined && h.sessionId !== opts.sessionId) continue;
        const payload = block.subarray(h.headerLength, h.headerLength + h.payloadLength);
        if (h.kind === BlockKind.SESSION_START) {
          yield { kind: 'session-start', block: blockNo, label: parseLabel<SessionStartLabel>(payload, h.kind) };
          continue;
        }
        if (h.kind === BlockKind.SESSION_END) {
          yield { kind: 'session-end', block: blockNo, label: parseLabel<SessionEndLabel>(payload, h.kind) };
          continue;
        }
        if (h.kind !== BlockKind.DATA) continue;
        let st = sessions.get(h.sessionId);
        if (!st) {
          // A session first met here (scan started mid-session) is in sync only if the block starts with a record.
          st = { partial: null, epoch: scan.epoch };
          sessions.set(h.sessionId, st);
        }
        let p = 0;
        if (st.epoch !== scan.epoch) {
          st.epoch = scan.epoch;
          dropPartial(st);
          if (h.firstRecordOffset === NO_RECORD_START) continue;
          p = h.firstRecordOffset;
        }
        while (p + FRAGMENT_HEADER_BYTES <= payload.length) {
          const f = readFragmentHeader(payload, p);
          p += FRAGMENT_HEADER_BYTES;
          if (p + f.fragmentLength > payload.length) {
            scan.epoch++;
            yield { kind: 'bad-block', volume, file: files[i], block: blockNo, reason: 'fragment runs past the block payload', code: 'CAIRN_E_VOLUME_BAD_BLOCK' };
            st.epoch = scan.epoch;
            dropPartial(st);
            break;
          }
          const bytes = payload.subarray(p, p + f.fragmentLength);
          p += f.fragmentLength;
          if (f.fragmentOffset === 0) {
            dropPartial(st);
            if (!wanted(f.fileIndex, lastFileIndexOf(f.streamType, f.fileIndex, f.streamNo))) continue;
            if (f.fragmentLength === f.totalLength) {
              yield record(f, bytes, volume, files[i], blockNo, loan.hold().releaser());
              continue;
            }
            const { bytes: buf, release } = buffers.recordBuffer(f.totalLength);
            bytes.copy(buf, 0);
            st.partial = { h: f, buf, release, filled: f.fragmentLength, block: blockNo, file: files[i] };
            continue;
          }
          const part = st.partial;
          if (!part || part.filled !== f.fragmentOffset || part.h.fileIndex !== f.fileIndex || part.h.totalLength !== f.totalLength || part.h.streamType !== f.streamType) {
            dropPartial(st); // continuation of a record we do not hold (lost block or filtered out)
            continue;
          }
          bytes.copy(part.buf, part.filled);
          part.filled += f.fragmentLength;
          if (part.filled === part.h.totalLength) {
            st.partial = null; // its hold goes with the record
            yield record(part.h, part.buf, volume, part.file, part.block, part.release);
          }
        }
      }
    } finally {
      loan.release(); // the records yielded from it hold it themselves
    }
    if (whole < count) {
      const partialBytes = got - whole * bs;
      const atEnd = opts.endBlock === undefined && partialBytes === 0;
      yield { kind: 'volume-end', volume, reason: atEnd ? 'end-of-data' : 'truncated', block: blockNo - 1 };
      return;
    }
  }
  yield { kind: 'volume-end', volume, reason: 'end-of-data', block: blockNo - 1 };
}

function record(f: FragmentHeader, payload: Buffer, volume: string, file: number, block: number, release: (() => void) | undefined): ReadItem {
  const it: ReadItem = { kind: 'record', record: { fileIndex: f.fileIndex, streamType: f.streamType, streamNo: f.streamNo, payload }, location: { volume, file, block } };
  if (release) it.release = release;
  return it;
}

/** Forgets a session's partly reassembled record (its buffer is let go). */
function dropPartial(st: SessionState): void {
  st.partial?.release?.();
  st.partial = null;
}

