/**
 * Record fragments inside a data block (docs/volume-format.md §Fragments).
 * Every piece of a record in a block has its own 20-byte header, so a reader
 * that lost the previous block still knows whose continuation it is:
 *
 *  0 u32 fileIndex  4 u16 streamType  6 u16 streamNo
 *  8 u32 total record length  12 u32 fragment offset (0 = record starts here)
 * 16 u32 fragment length
 */
export const FRAGMENT_HEADER_BYTES = 20;

export interface FragmentHeader {
  fileIndex: number;
  streamType: number;
  streamNo: number;
  totalLength: number;
  fragmentOffset: number;
  fragmentLength: number;
}

export function writeFragmentHeader(b: Buffer, at: number, f: FragmentHeader): void {
  b.writeUInt32BE(f.fileIndex >>> 0, at);
  b.writeUInt16BE(f.streamType, at + 4);
  b.writeUInt16BE(f.streamNo, at + 6);
  b.writeUInt32BE(f.totalLength, at + 8);
  b.writeUInt32BE(f.fragmentOffset, at + 12);
  b.writeUInt32BE(f.fragmentLength, at + 16);
}

export function readFragmentHeader(b: Buffer, at: number): FragmentHeader {
  return {
    fileIndex: b.readUInt32BE(at),
    streamType: b.readUInt16BE(at + 4),
    streamNo: b.readUInt16BE(at + 6),
    totalLength: b.readUInt32BE(at + 8),
    fragmentOffset: b.readUInt32BE(at + 12),
    fragmentLength: b.readUInt32BE(at + 16),
  };
}
