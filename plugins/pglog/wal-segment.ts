/**
 * WAL file names and positions: a segment name is timeline, then the segment
 * number split in two 8-hex-digit halves (`TTTTTTTTXXXXXXXXYYYYYYYY`), where
 * the split depends on the cluster's wal_segment_size; an LSN is `X/Y` hex.
 * Also sorts the names a spool folder holds into what they are.
 */

/** A WAL segment by timeline and number (segment numbers fit a double: < 2^53 for any segment size ≥ 1 MiB). */
export interface SegmentId {
  timeline: number;
  segNo: number;
}

const SEGMENT = /^[0-9A-F]{24}$/;
const HISTORY = /^([0-9A-F]{8})\.history$/;
const BACKUP_HISTORY = /^([0-9A-F]{24})\.[0-9A-F]{8}\.backup$/;
const PARTIAL = /^([0-9A-F]{24})\.partial$/;

/** What a name in the spool is. */
export type SpoolKind = 'segment' | 'history' | 'backup-history' | 'partial' | 'other';

export function spoolKind(name: string): SpoolKind {
  if (SEGMENT.test(name)) return 'segment';
  if (HISTORY.test(name)) return 'history';
  if (BACKUP_HISTORY.test(name)) return 'backup-history';
  if (PARTIAL.test(name)) return 'partial';
  return 'other';
}

/** The segment a spool name belongs to (segments, `.backup` and `.partial` files), or null. */
export function segmentOf(name: string): string | null {
  if (SEGMENT.test(name)) return name;
  const m = BACKUP_HISTORY.exec(name) ?? PARTIAL.exec(name);
  return m ? m[1] : null;
}

/** Timeline of a `.history` file name, or null. */
export function historyTimeline(name: string): number | null {
  const m = HISTORY.exec(name);
  return m ? parseInt(m[1], 16) : null;
}

function segmentsPerId(segmentSize: number): number {
  return 0x1_0000_0000 / segmentSize;
}

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

export function parseSegmentName(name: string, segmentSize: number): SegmentId {
  if (!SEGMENT.test(name)) throw new TypeError(`"${name}" is not a WAL segment name`);
  const timeline = parseInt(name.slice(0, 8), 16);
  const hi = parseInt(name.slice(8, 16), 16);
  const lo = parseInt(name.slice(16, 24), 16);
  return { timeline, segNo: hi * segmentsPerId(segmentSize) + lo };
}

export function segmentName(id: SegmentId, segmentSize: number): string {
  const per = segmentsPerId(segmentSize);
  return hex8(id.timeline) + hex8(Math.floor(id.segNo / per)) + hex8(id.segNo % per);
}

/** The next segment on the same timeline. */
export function nextSegment(name: string, segmentSize: number): string {
  const id = parseSegmentName(name, segmentSize);
  return segmentName({ timeline: id.timeline, segNo: id.segNo + 1 }, segmentSize);
}

/** Every segment from `first` to `last` inclusive, on `first`'s timeline (empty when last < first). */
export function segmentRange(first: string, last: string, segmentSize: number): string[] {
  const a = parseSegmentName(first, segmentSize);
  const b = parseSegmentName(last, segmentSize);
  const out: string[] = [];
  for (let n = a.segNo; n <= b.segNo; n++) out.push(segmentName({ timeline: a.timeline, segNo: n }, segmentSize));
  return out;
}

/** An LSN (`16/B374D848`) as a bigint byte position. */
export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!m) throw new TypeError(`"${lsn}" is not an LSN`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** The segment holding the byte at `lsn` on `timeline`. */
export function segmentOfLsn(lsn: string, timeline: number, segmentSize: number): string {
  return segmentName({ timeline, segNo: Number(parseLsn(lsn) / BigInt(segmentSize)) }, segmentSize);
}
