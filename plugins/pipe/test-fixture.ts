/**
 * Test support for the pipe agent (not used by the agent): fileset options
 * whose readers are small node scripts, the programs they need allowed, and
 * a compare callback for the conformance kit (restore with toFiles).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';

/** A node one-liner that writes `bytes` deterministic bytes (seeded) to stdout, with back-pressure. */
export function generator(seed: number, bytes: number): string[] {
  const js = `const n=${bytes};let s=${seed}>>>0,left=n;const b=Buffer.alloc(65536);
function more(){while(left>0){for(let i=0;i<b.length;i+=4){s=(s*1664525+1013904223)>>>0;b.writeUInt32LE(s,i);}
const c=b.subarray(0,Math.min(left,b.length));left-=c.length;if(!process.stdout.write(c)){process.stdout.once('drain',more);return;}}}more();`;
  return [process.execPath, '-e', js];
}

export function expectedBytes(seed: number, bytes: number): Buffer {
  const out = Buffer.alloc(Math.ceil(bytes / 65536) * 65536);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i += 4) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out.writeUInt32LE(s, i);
  }
  return out.subarray(0, bytes);
}

export const PIPE_KIT_FILES = [
  { path: '/pipe/small.txt', reader: [process.execPath, '-e', 'process.stdout.write("hello pipe\\n")'] },
  { path: '/pipe/db/big.dump', reader: generator(7, 3 * 1024 * 1024 + 5) },
  { path: '/pipe/empty', reader: [process.execPath, '-e', ''] },
];

/** Checks what a toFiles restore wrote under `where` against what the readers write. */
export async function compareToFiles(where: string): Promise<{ ok: boolean; message: string }> {
  const want: Record<string, Buffer> = {
    'pipe/small.txt': Buffer.from('hello pipe\n'),
    'pipe/db/big.dump': expectedBytes(7, 3 * 1024 * 1024 + 5),
    'pipe/empty': Buffer.alloc(0),
  };
  for (const [rel, bytes] of Object.entries(want)) {
    const p = path.join(where, rel);
    if (!fs.existsSync(p)) return { ok: false, message: `${rel} was not restored` };
    const got = fs.readFileSync(p);
    const h = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    if (h(got) !== h(bytes)) return { ok: false, message: `${rel}: ${got.length} bytes differ from the reader's ${bytes.length}` };
  }
  return { ok: true, message: `${Object.keys(want).length} files equal` };
}
