/**
 * The frames of the agent IPC channel (process isolation, docs/plugin-api.md
 * §Isolation): between cairn-fd and an agent's own process, over a Unix
 * socket the child listens on (in a folder only the FD's user can enter) and
 * the FD connects to. Every frame is a fixed 25-byte header and a payload:
 *
 *   u32 length of the payload · u8 kind · u32 id · u32 ref · u32 aux · f64 offset
 *
 * Data chunks travel as raw bytes in the payload (the offset field carries a
 * sparse chunk's offset, -1 for a plain chunk): no encoding; the FD reads
 * them straight into its chunk buffers (readTarget/onRead). Control messages (calls, replies, events) carry a
 * small structured-clone payload (node:v8 serialize: bigint stat fields and
 * byte paths pass as they are, which JSON cannot do).
 */
import { Buffer } from 'node:buffer';
import { deserialize, serialize } from 'node:v8';
import type { Socket } from 'node:net';

export const FRAME_HEADER_BYTES = 25;
/** Reads that do not fill a payload directly land here: headers, control messages (the socket's buffer is ≈ 200 KiB). */
const SCRATCH_BYTES = 256 << 10;
/** Largest payload accepted: a chunk of a misbehaving agent must not make the host allocate without bound. */
export const MAX_FRAME_PAYLOAD = 64 << 20;

/** Frame kinds. Host → child below 10, child → host from 10. */
export const Kind = {
  /** Host → child: a hook call (v8 payload { hook, args }); id = call id. */
  CALL: 1,
  /** Host → child: writeData's chunk; id = call id, ref = file ref, aux = stream index, offset = sparse offset or -1. */
  WRITE: 2,
  /** Host → child: the host consumed `aux` bytes of readData call `id` (flow control). */
  CREDIT: 3,
  /** Host → child: the job's signal aborted (v8 payload { code, message }). */
  ABORT: 4,
  /** Host → child: stop readData call `id` early (the host's iterator was returned). */
  STOP: 5,
  /** Host → child: a page of base files for cursor `id` (v8 payload { rows, done } or { error }). */
  BASE_PAGE: 6,
  /** Child → host: a call's result (v8 payload). */
  REPLY: 10,
  /** Child → host: a call's failure (v8 payload: an error as plain data). */
  FAIL: 11,
  /** Child → host: one readData chunk of call `id` (raw bytes; offset = sparse offset or -1). */
  CHUNK: 12,
  /** Child → host: readData call `id` has no more chunks. */
  END: 13,
  /** Child → host: a context event (log, job message, progress), v8 payload. */
  EVENT: 14,
  /** Child → host: the next page of cursor `id` over the base files of base job `ref` (BaseJob.files()). */
  BASE_NEXT: 15,
} as const;

export interface FrameHeader {
  kind: number;
  id: number;
  ref: number;
  aux: number;
  offset: number;
  length: number;
}

const NO_PAYLOAD = Buffer.alloc(0);

function header(kind: number, id: number, ref: number, aux: number, offset: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  h.writeUInt32BE(length, 0);
  h.writeUInt8(kind, 4);
  h.writeUInt32BE(id >>> 0, 5);
  h.writeUInt32BE(ref >>> 0, 9);
  h.writeUInt32BE(aux >>> 0, 13);
  h.writeDoubleBE(offset, 17);
  return h;
}

/**
 * Writes one frame (header and payload in one writev, the payload not copied). `done` runs once the
 * socket has handed both to the kernel: the payload's memory may be reused then. Returns write()'s
 * back-pressure answer.
 */
export function sendFrame(socket: Socket, kind: number, id: number, fields: { ref?: number; aux?: number; offset?: number; payload?: Uint8Array } = {}, done?: (err?: Error | null) => void): boolean {
  const payload = fields.payload ?? NO_PAYLOAD;
  const h = header(kind, id, fields.ref ?? 0, fields.aux ?? 0, fields.offset ?? -1, payload.byteLength);
  if (payload.byteLength === 0) return socket.write(h, done);
  socket.cork();
  socket.write(h);
  const ok = socket.write(payload, done);
  socket.uncork();
  return ok;
}

/** A control frame: `value` as a structured clone. */
export function sendControl(socket: Socket, kind: number, id: number, value: unknown): boolean {
  return sendFrame(socket, kind, id, { payload: serialize(value) });
}

export function decodeControl<T>(payload: Buffer): T {
  return deserialize(payload) as T;
}

/**
 * Cuts a byte stream into frames. `target` may supply the buffer a payload is copied into (a chunk
 * buffer for data); otherwise a control payload that lies whole in one read is a view of that read.
 */
export class FrameReader {
  private head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  private headFill = 0;
  private cur: FrameHeader | null = null;
  private body: Buffer | null = null;
  private bodyFill = 0;

  /** Where reads land when no payload is being filled (readTarget); reused, so nothing keeps a view of it. */
  private scratch: Buffer | null = null;

  constructor(
    private readonly onFrame: (h: FrameHeader, payload: Buffer) => void,
    private readonly target?: (h: FrameHeader) => Buffer | null,
  ) {}

  /**
   * For a socket read with `onread` (core/agent-process.ts): the memory the next read should fill —
   * the rest of the payload being received (so a data chunk goes from the kernel straight into its
   * chunk buffer, no copy), else a scratch buffer. Pass what was read to onRead().
   */
  readTarget(): Buffer {
    if (this.body) return this.body.subarray(this.bodyFill);
    return (this.scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES));
  }

  onRead(n: number, buf: Uint8Array): void {
    if (this.body && buf.buffer === this.body.buffer && buf.byteOffset === this.body.byteOffset + this.bodyFill) {
      this.bodyFill += n;
      if (this.bodyFill === this.body.length) {
        const body = this.body;
        this.body = null;
        this.emit(body);
      }
      return;
    }
    this.push(Buffer.from(buf.buffer, buf.byteOffset, n), true);
  }

  /** Frames from the next bytes of the stream. `reused`: `data` will be overwritten, so no payload may be a view of it. */
  push(data: Buffer, reused = false): void {
    let at = 0;
    while (at < data.length) {
      if (!this.cur) {
        const n = Math.min(FRAME_HEADER_BYTES - this.headFill, data.length - at);
        data.copy(this.head, this.headFill, at, at + n);
        this.headFill += n;
        at += n;
        if (this.headFill < FRAME_HEADER_BYTES) return;
        this.headFill = 0;
        const h = this.head;
        const length = h.readUInt32BE(0);
        if (length > MAX_FRAME_PAYLOAD) throw new RangeError(`IPC frame of ${length} bytes exceeds the ${MAX_FRAME_PAYLOAD}-byte limit`);
        this.cur = { length, kind: h.readUInt8(4), id: h.readUInt32BE(5), ref: h.readUInt32BE(9), aux: h.readUInt32BE(13), offset: h.readDoubleBE(17) };
        if (length === 0) {
          this.emit(NO_PAYLOAD);
          continue;
        }
        const t = this.target?.(this.cur) ?? null;
        if (!t && !reused && data.length - at >= length) {
          // The whole payload is in this read: a view, no copy (the read's buffer is never reused by net).
          const view = data.subarray(at, at + length);
          at += length;
          this.emit(view);
          continue;
        }
        this.body = t ?? Buffer.allocUnsafe(length);
        this.bodyFill = 0;
      }
      const body = this.body!;
      const n = Math.min(body.length - this.bodyFill, data.length - at);
      data.copy(body, this.bodyFill, at, at + n);
      this.bodyFill += n;
      at += n;
      if (this.bodyFill === body.length) {
        this.body = null;
        this.emit(body);
      }
    }
  }

  private emit(payload: Buffer): void {
    const h = this.cur!;
    this.cur = null;
    this.onFrame(h, payload);
  }
}
