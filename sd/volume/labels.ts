/**
 * Labels (docs/volume-format.md §Labels): the volume label (block 0), the
 * session start label and the session end label, each one block of its own
 * kind whose payload is an 8-byte ASCII tag followed by a UTF-8 JSON object.
 * JSON keeps them extensible: readers ignore fields they do not know.
 */
import { CairnError } from '../../plugin-api/index.js';
import type { SessionJobInfo, SessionJobSummary } from '../api.js';
import { BLOCK_HEADER_BYTES, BlockKind, FORMAT_VERSION, sealBlock } from './block.js';

export const LABEL_TAG = { VOLUME: 'CAIRNVOL', SESSION_START: 'CAIRNSOS', SESSION_END: 'CAIRNEOS' } as const;

export interface VolumeLabel {
  formatVersion: number;
  volumeName: string;
  pool: string;
  mediaType: string;
  /** ms since epoch */
  labelTime: number;
  blockSize: number;
  checksum: string;
  [extra: string]: unknown;
}

export interface SessionStartLabel {
  sessionId: number;
  volumeName: string;
  /** ms since epoch, when the session began (on this volume, if continued). */
  time: number;
  /** true on the volume a session continues on after a rollover. */
  continued: boolean;
  job: SessionJobInfo;
  /**
   * An encrypted job's header, as its FD gave it at `append open session` (docs/encryption.md §Header):
   * `{ version: 1, cipher, jobId, wraps: [{ fingerprint, epk, nonce, box }], signer: { fingerprint, signPublicKey } }`.
   * Absent for a job that is not encrypted. Additive: readers that do not know it ignore it.
   */
  encryption?: object;
  [extra: string]: unknown;
}

export interface SessionEndLabel {
  sessionId: number;
  jobId: number;
  volumeName: string;
  time: number;
  status: 'ok' | 'aborted';
  /** Whole-session statistics so far (cumulative across volumes). */
  files: number;
  records: number;
  bytes: number;
  blocks: number;
  firstFileIndex: number;
  lastFileIndex: number;
  reason?: string;
  /** The FD's outcome of the job, given with `append close session` (absent when the FD sent none). */
  job?: SessionJobSummary;
  [extra: string]: unknown;
}

const KIND_TAG: Record<number, string> = {
  [BlockKind.VOLUME_LABEL]: LABEL_TAG.VOLUME,
  [BlockKind.SESSION_START]: LABEL_TAG.SESSION_START,
  [BlockKind.SESSION_END]: LABEL_TAG.SESSION_END,
};

/** Builds a sealed label block. */
export function labelBlock(
  blockSize: number,
  kind: number,
  obj: object,
  at: { blockNumber: number; sessionId: number; sessionSeq: number },
): Buffer {
  const json = Buffer.from(KIND_TAG[kind] + JSON.stringify(obj), 'utf8');
  if (BLOCK_HEADER_BYTES + json.length > blockSize) {
    throw new CairnError('CAIRN_E_VOLUME_LABEL', `Label of ${json.length} bytes does not fit a ${blockSize}-byte block (job extra fields too large?).`, { labelBytes: json.length, blockSize });
  }
  const b = Buffer.allocUnsafe(blockSize);
  json.copy(b, BLOCK_HEADER_BYTES);
  sealBlock(b, { kind, ...at, payloadLength: json.length, firstRecordOffset: 0 });
  return b;
}

export function volumeLabelObject(v: { volumeName: string; pool: string; mediaType: string; labelTime: number; blockSize: number; [extra: string]: unknown }): VolumeLabel {
  return { ...v, formatVersion: FORMAT_VERSION, checksum: 'crc32-ieee', volumeName: v.volumeName, pool: v.pool, mediaType: v.mediaType, labelTime: v.labelTime, blockSize: v.blockSize };
}

/** Parses a label payload of a block already checked; throws CAIRN_E_VOLUME_LABEL if the tag is wrong. */
export function parseLabel<T>(payload: Buffer, kind: number): T {
  const tag = KIND_TAG[kind];
  if (!tag || payload.toString('latin1', 0, 8) !== tag) {
    throw new CairnError('CAIRN_E_VOLUME_LABEL', `Label block of kind ${kind} does not start with its tag.`, { kind });
  }
  try {
    return JSON.parse(payload.toString('utf8', 8)) as T;
  } catch (cause) {
    throw new CairnError('CAIRN_E_VOLUME_LABEL', 'Label JSON does not parse.', { kind }, { cause });
  }
}
