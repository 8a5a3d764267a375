/**
 * Volume-level verification (docs/protocol.md §3.1 `verify session`): the SD
 * reads the blocks a Bootstrap names and checks, without handing any record
 * to anyone and without any key, that
 *  - every block in the ranges passes its check (magic, version, lengths,
 *    CRC-32, block number = position; volume-format.md §3.3);
 *  - the session's blocks follow one another (session sequence without gaps,
 *    across volumes), start with its start label and end with its end label;
 *  - the fragments of its data blocks chain into whole records (offsets,
 *    lengths, first-record offset) and the counts (records, payload bytes,
 *    files, blocks, first and last file index) equal the end label's.
 * A bad block, or a gap in the sequence, names the file indexes whose records
 * it may have held: from the last index seen before it to the first index
 * seen after it (a truncated range: every index from the last seen on). The
 * Director turns those into paths from its catalog.
 * For an encrypted job the request names the manifest's signer (and may bring
 * the manifest): every whole record is also checked against the SHA-256 the
 * FD signed for it (manifest-check.ts) — still without any key.
 * A file volume is read at the ranges' positions; a tape is loaded (waiting
 * for it as a read session does) and spaced to each range's start file and
 * block, then read block by block across filemarks; findings on tape carry
 * the tape file of the block.
 */
import type { Bootstrap } from '../api.js';
import type { Device } from '../device/device.js';
import { CairnError, lastFileIndexOf } from '../../plugin-api/index.js';
import { READ_CHUNK_BLOCKS } from '../defaults.js';
import { BlockKind, NO_RECORD_START, checkBlock } from './block.js';
import { FRAGMENT_HEADER_BYTES, readFragmentHeader, type FragmentHeader } from './fragment.js';
import { parseLabel, type SessionEndLabel, type SessionStartLabel } from './labels.js';
import { chunkReader, readVolumeLabel } from './volume-scanner.js';
import { ManifestCheck, type ManifestAnchor, type ManifestCheckSummary } from './manifest-check.js';

export type { ManifestAnchor, ManifestCheckSummary };

/** The highest file index (u32): a finding's range that runs to the end of the session. */
export const MAX_FILE_INDEX = 0xffffffff;

/** What `verify session` checks: the bootstrap entries of one session (all its ranges, in order). */
export interface VolumeVerifyRequest {
  entries: Bootstrap['entries'];
  /** The job the session was written for (checked against the start label), when known. */
  jobId?: number;
  /**
   * An encrypted job: its manifest's signer (fingerprint and Ed25519 public key, from a trusted place: the
   * Director's catalog) and, optionally, the signed manifest itself (base64). Every record is then checked
   * against the manifest's ciphertext digests (docs/encryption.md §5), no key needed.
   */
  manifest?: ManifestAnchor;
}

export interface VolumeVerifyFinding {
  volume: string;
  file: number;
  block: number;
  code: string;
  text: string;
  /** Inclusive file indexes whose records the damaged place may have held (0 = session records only). */
  fileIndexes?: [number, number];
  /** False for a bad block that the session's unbroken sequence proves belongs to another session. */
  ours?: boolean;
}

export interface VolumeVerifyResult {
  sessionId: number;
  jobId: number | null;
  volumes: string[];
  /** The session's blocks read and found good (labels included). */
  blocks: number;
  records: number;
  /** Payload bytes of the records read whole. */
  bytes: number;
  files: number;
  firstFileIndex: number;
  lastFileIndex: number;
  /** The end label read, when it was in the ranges. */
  endLabel: SessionEndLabel | null;
  /** Bad blocks met in the ranges (whoever they belonged to). */
  badBlocks: VolumeVerifyFinding[];
  /** Everything else that is wrong: sequence gaps, broken records, labels, counts, truncation, records differing from the signed manifest. */
  problems: VolumeVerifyFinding[];
  /** The keyless check against the signed manifest, when the request named its signer. */
  manifest?: ManifestCheckSummary;
}

interface Open {
  h: FragmentHeader;
  filled: number;
  block: number;
  volume: string;
}

/** Checks one session's blocks as `req` names them; never throws for what it finds on the media (only for a device that cannot be opened). */
export async function verifySession(device: Device, req: VolumeVerifyRequest): Promise<VolumeVerifyResult> {
  const sessionId = req.entries[0]?.sessionId ?? 0;
  const r: VolumeVerifyResult = {
    sessionId, jobId: req.jobId ?? null, volumes: [], blocks: 0, records: 0, bytes: 0, files: 0, firstFileIndex: 0, lastFileIndex: 0, endLabel: null, badBlocks: [], problems: [],
  };
  let expectSeq: number | null = null;
  let open: Open | null = null;
  /** Findings waiting for the first file index seen after them (to close their fileIndexes range). */
  let awaiting: VolumeVerifyFinding[] = [];
  /** Bad blocks since the session's last good block: ours if the sequence then shows a gap. */
  let unexplained: VolumeVerifyFinding[] = [];
  let lastIndex = 0;
  let lost = false; // records were lost: resync at the next first-record offset
  let endSeen = false;
  const digests = req.manifest ? new ManifestCheck(req.manifest, req.jobId) : null;
  /** The tape file of the block being looked at (0 on a random-access volume). */
  let tapeFile = 0;
  const problem = (f: Omit<VolumeVerifyFinding, 'file'>, waitForNext = false): void => {
    const finding: VolumeVerifyFinding = { file: tapeFile, ...f };
    r.problems.push(finding);
    if (waitForNext) {
      finding.fileIndexes = [lastIndex, lastIndex];
      awaiting.push(finding);
    }
  };
  const seeIndex = (first: number, last: number): void => {
    for (const f of awaiting) if (f.fileIndexes) f.fileIndexes[1] = Math.max(f.fileIndexes[0], first);
    awaiting = [];
    if (first > r.lastFileIndex) {
      // The writer counts a file when a record's index first exceeds the last one (append-session.ts).
      r.files++;
      r.lastFileIndex = first;
      if (r.firstFileIndex === 0) r.firstFileIndex = first;
    }
    lastIndex = Math.max(lastIndex, last);
  };

  for (const e of req.entries) {
    if (!r.volumes.includes(e.volume)) r.volumes.push(e.volume);
    // A tape is loaded (waiting for it like a read session) and spaced to the range's start (fsf/fsr): the blocks before it are not read.
    const handle = device.access === 'sequential' ? await device.open(e.volume, 'read', { wait: true }) : await device.open(e.volume, 'read');
    try {
      let bs: number;
      try {
        bs = (handle.access === 'random' ? await readVolumeLabel(handle) : handle.label).blockSize;
        if (handle.access === 'sequential') await handle.seek(e.startFile || 1, Math.max(e.startBlock, 1));
      } catch (err) {
        const f = err as { code?: string; message?: string };
        problem({ volume: e.volume, block: 0, code: f.code ?? 'CAIRN_E_VOLUME_LABEL', text: f.message ?? String(err) }, true);
        continue;
      }
      let blockNo = Math.max(e.startBlock, 1);
      let startChecked = false;
      const buf = Buffer.allocUnsafe(READ_CHUNK_BLOCKS * bs);
      const read = chunkReader(handle, bs);
      const files = new Array<number>(READ_CHUNK_BLOCKS).fill(0);
      while (blockNo <= e.endBlock) {
        const count = Math.min(READ_CHUNK_BLOCKS, e.endBlock - blockNo + 1);
        const chunk = buf.subarray(0, count * bs);
        const got = await read(chunk, blockNo, count, files);
        const whole = Math.floor(got / bs);
        for (let i = 0; i < whole; i++, blockNo++) {
          tapeFile = files[i];
          const block = chunk.subarray(i * bs, (i + 1) * bs);
          const check = checkBlock(block, bs);
          const badReason = !check.ok ? check.reason : check.header.blockNumber !== blockNo ? `block header says block ${check.header.blockNumber}` : null;
          if (!check.ok || badReason !== null) {
            const f: VolumeVerifyFinding = { volume: e.volume, file: tapeFile, block: blockNo, code: check.ok ? 'CAIRN_E_VOLUME_BAD_BLOCK' : check.code, text: badReason ?? 'bad block', fileIndexes: [lastIndex, lastIndex] };
            r.badBlocks.push(f);
            unexplained.push(f);
            awaiting.push(f);
            continue;
          }
          const h = check.header;
          if (h.sessionId !== sessionId) continue;
          // Sequence: a gap means blocks of this session are missing or were among the bad ones.
          if (expectSeq !== null && h.sessionSeq !== expectSeq) {
            const missing = h.sessionSeq - expectSeq;
            if (missing > 0 && unexplained.length >= missing) {
              for (const f of unexplained) f.ours = true;
            } else {
              problem({ volume: e.volume, block: blockNo, code: 'CAIRN_E_VOLUME_SEQUENCE', text: `session ${sessionId}: block sequence ${h.sessionSeq} where ${expectSeq} was due (${missing > 0 ? `${missing} block(s) of the session missing` : 'blocks out of order'})` }, true);
            }
            if (open) {
              problem({ volume: open.volume, block: open.block, code: 'CAIRN_E_VOLUME_RECORD', text: `record of file ${open.h.fileIndex} (stream type ${open.h.streamType}) lost its continuation` }, true);
              open = null;
              digests?.drop();
            }
            lost = true;
          } else {
            for (const f of unexplained) f.ours = false;
          }
          unexplained = [];
          expectSeq = h.sessionSeq + 1;
          const payload = block.subarray(h.headerLength, h.headerLength + h.payloadLength);
          if (h.kind === BlockKind.SESSION_START) {
            r.blocks++;
            startChecked = true;
            checkStart(payload, e.volume, blockNo, req, sessionId, problem);
            continue;
          }
          if (blockNo === Math.max(e.startBlock, 1) && !startChecked) {
            problem({ volume: e.volume, block: blockNo, code: 'CAIRN_E_VOLUME_LABEL', text: `the range starts at block ${blockNo}, which is not session ${sessionId}'s start label` });
          }
          if (h.kind === BlockKind.SESSION_END) {
            endSeen = true;
            try {
              r.endLabel = parseLabel<SessionEndLabel>(payload, h.kind);
            } catch (err) {
              problem({ volume: e.volume, block: blockNo, code: 'CAIRN_E_VOLUME_LABEL', text: (err as Error).message });
            }
            if (open) {
              problem({ volume: open.volume, block: open.block, code: 'CAIRN_E_VOLUME_RECORD', text: `record of file ${open.h.fileIndex} (stream type ${open.h.streamType}) ends before its last fragment` });
              open = null;
              digests?.drop();
            }
            continue;
          }
          if (h.kind !== BlockKind.DATA) continue;
          r.blocks++;
          let p = 0;
          if (lost) {
            lost = false;
            if (h.firstRecordOffset === NO_RECORD_START) {
              lost = true;
              continue;
            }
            p = h.firstRecordOffset;
          }
          let firstStart: number | null = null;
          while (p + FRAGMENT_HEADER_BYTES <= payload.length) {
            const at = p;
            const f = readFragmentHeader(payload, p);
            p += FRAGMENT_HEADER_BYTES;
            if (p + f.fragmentLength > payload.length || f.fragmentOffset + f.fragmentLength > f.totalLength) {
              problem({ volume: e.volume, block: blockNo, code: 'CAIRN_E_VOLUME_RECORD', text: `fragment at payload offset ${at} runs past its block or its record` }, true);
              open = null;
              digests?.drop();
              lost = true;
              break;
            }
            const bytes = payload.subarray(p, p + f.fragmentLength);
            p += f.fragmentLength;
            if (f.fragmentOffset === 0) {
              firstStart ??= at;
              if (open) {
                problem({ volume: open.volume, block: open.block, code: 'CAIRN_E_VOLUME_RECORD', text: `record of file ${open.h.fileIndex} (stream type ${open.h.streamType}) is cut short by the next record` }, true);
              }
              seeIndex(f.fileIndex, lastFileIndexOf(f.streamType, f.fileIndex, f.streamNo));
              open = { h: f, filled: 0, block: blockNo, volume: e.volume };
              digests?.begin(f.fileIndex, f.streamType, f.streamNo, f.totalLength, e.volume, blockNo);
            } else if (!open || open.filled !== f.fragmentOffset || open.h.fileIndex !== f.fileIndex || open.h.streamType !== f.streamType || open.h.totalLength !== f.totalLength) {
              problem({ volume: e.volume, block: blockNo, code: 'CAIRN_E_VOLUME_RECORD', text: `continuation fragment of file ${f.fileIndex} (stream type ${f.streamType}, offset ${f.fragmentOffset}) matches no record in progress` }, true);
              open = null;
              digests?.drop();
              continue;
            }
            digests?.update(bytes);
            open.filled += f.fragmentLength;
            if (open.filled === open.h.totalLength) {
              r.records++;
              r.bytes += open.h.totalLength;
              open = null;
              digests?.end(blockNo);
            }
          }
          const declared = h.firstRecordOffset === NO_RECORD_START ? null : h.firstRecordOffset;
          if (!lost && firstStart !== declared) {
            problem({ volume: e.volume, block: blockNo, code: 'CAIRN_E_VOLUME_RECORD', text: `first record offset says ${declared ?? 'none'}, the fragments say ${firstStart ?? 'none'}` });
          }
        }
        if (whole < count) {
          problem({ volume: e.volume, block: blockNo, code: 'CAIRN_E_VOLUME_TRUNCATED', text: `volume ends at block ${blockNo}, before block ${e.endBlock} of the session's range` }, true);
          break;
        }
      }
    } finally {
      await handle.close();
    }
  }
  for (const f of unexplained) f.ours ??= !endSeen;
  // No file index was seen after these: records of any index from the last one seen on may have been there (a cut volume).
  for (const f of awaiting) if (f.fileIndexes) f.fileIndexes[1] = MAX_FILE_INDEX;
  awaiting = [];
  if (open) problem({ volume: open.volume, block: open.block, code: 'CAIRN_E_VOLUME_RECORD', text: `record of file ${open.h.fileIndex} (stream type ${open.h.streamType}) has no end in the ranges read` });
  compareEndLabel(r, endSeen, req, problem);
  if (digests) {
    const first = req.entries[0];
    const checked = digests.finish({ volume: first.volume, block: first.startBlock });
    r.manifest = checked.summary;
    for (const f of checked.findings) r.problems.push({ file: 0, ...f });
  }
  return r;
}

function checkStart(
  payload: Buffer,
  volume: string,
  block: number,
  req: VolumeVerifyRequest,
  sessionId: number,
  problem: (f: Omit<VolumeVerifyFinding, 'file'>) => void,
): void {
  try {
    const l = parseLabel<SessionStartLabel>(payload, BlockKind.SESSION_START);
    if (l.sessionId !== sessionId) problem({ volume, block, code: 'CAIRN_E_VOLUME_LABEL', text: `start label names session ${l.sessionId}, not ${sessionId}` });
    if (req.jobId !== undefined && l.job?.jobId !== req.jobId) problem({ volume, block, code: 'CAIRN_E_VOLUME_LABEL', text: `start label names job ${l.job?.jobId}, not ${req.jobId}` });
    if (l.volumeName !== volume) problem({ volume, block, code: 'CAIRN_E_VOLUME_LABEL', text: `start label names volume ${l.volumeName}` });
  } catch (err) {
    problem({ volume, block, code: 'CAIRN_E_VOLUME_LABEL', text: (err as Error).message });
  }
}

/** The end label's statistics must equal what was counted, when the whole session was read cleanly. */
function compareEndLabel(r: VolumeVerifyResult, endSeen: boolean, req: VolumeVerifyRequest, problem: (f: Omit<VolumeVerifyFinding, 'file'>) => void): void {
  const last = req.entries[req.entries.length - 1];
  if (!last) return;
  if (!endSeen) {
    problem({ volume: last.volume, block: last.endBlock, code: 'CAIRN_E_VOLUME_LABEL', text: `session ${r.sessionId} has no end label in the ranges read` });
    return;
  }
  const l = r.endLabel;
  if (!l) return;
  if (l.status !== 'ok') problem({ volume: last.volume, block: last.endBlock, code: 'CAIRN_E_VOLUME_LABEL', text: `session ${r.sessionId} ended ${l.status}${l.reason ? `: ${l.reason}` : ''}` });
  if (r.badBlocks.some((b) => b.ours !== false) || r.problems.length) return; // counts cannot match after damage: already reported
  const diffs: string[] = [];
  for (const k of ['records', 'bytes', 'blocks', 'files', 'firstFileIndex', 'lastFileIndex'] as const) {
    if (l[k] !== r[k]) diffs.push(`${k} ${r[k]} read, ${l[k]} in the label`);
  }
  if (diffs.length) problem({ volume: last.volume, block: last.endBlock, code: 'CAIRN_E_VOLUME_RECORD', text: `session ${r.sessionId}: ${diffs.join('; ')}` });
}
