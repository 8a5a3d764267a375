import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import { StreamType, type FileEntry } from '../../plugin-api/index.js';
import { encodeAttributes, encodePackIndex } from '../../core/index.js';
import type { DataRecord } from '../../sd/index.js';
import { Catalog } from '../catalog/index.js';
import { AdaptiveFileAssembler } from './adaptive-assembler.js';

const loc = { volume: 'V-0001', file: 0, block: 1 };
const sha = (s: string): Buffer => createHash('sha256').update(s).digest();
const entry = (path: string, size: number): FileEntry => ({
  path: Buffer.from(path), kind: 'file', streams: [{ index: 0, name: 'data', layout: 'sequential', size }],
  stat: { mode: 0o100644, uid: 0, gid: 0, size, mtimeNs: 1n, atimeNs: 1n, ctimeNs: 1n, dev: 1n, ino: 1n, nlink: 1, rdev: 0 },
});
const rec = (r: DataRecord) => ({ record: r, location: loc });

/** Files 1…n in packs of three (attributes, then the pack's index), a big file 4 with its own digest, agent state at the end. */
function records(n: number): Array<{ record: DataRecord; location: typeof loc }> {
  const out = [];
  let members: number[] = [];
  const flush = (): void => {
    if (!members.length) return;
    out.push(rec({ fileIndex: members[0], streamType: StreamType.PACK_INDEX, streamNo: members[members.length - 1] - members[0], payload: encodePackIndex(members.map((i) => ({ fileIndex: i, streamNo: 0, length: 1, digest: sha(`f${i}`) }))) }));
    members = [];
  };
  for (let i = 1; i <= n; i++) {
    if (i === 4) {
      flush();
      out.push(rec({ fileIndex: i, streamType: StreamType.ATTRIBUTES, streamNo: 0, payload: encodeAttributes(entry(`/d/f${i}`, 1 << 20), 'fs/1') }));
      out.push(rec({ fileIndex: i, streamType: StreamType.DIGEST_SHA256, streamNo: 0, payload: Buffer.concat([sha(`f${i}`), Buffer.alloc(8)]) }));
      continue;
    }
    out.push(rec({ fileIndex: i, streamType: StreamType.ATTRIBUTES, streamNo: 0, payload: encodeAttributes(entry(`/d/f${i}`, 1), 'fs/1') }));
    members.push(i);
    if (members.length === 3) flush();
  }
  flush();
  out.push(rec({ fileIndex: 0, streamType: StreamType.AGENT_STATE, streamNo: 0, payload: Buffer.from(JSON.stringify({ key: 'fs#1', state: { n } })) }));
  return out;
}

for (const [name, threadAfter, threaded] of [['stays on the main thread for a small job', 1000, false], ['moves to its thread mid-job and loses no row or digest', 2, true]] as const) {
  test(`file-row assembly ${name}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-adaptive-'));
    const cat = await Catalog.open(join(dir, 'catalog.db'));
    try {
      const jobId = await cat.createJob({ name: 'j', type: 'backup', level: 'full', client: 'c', startedAt: new Date(1) });
      const a = new AdaptiveFileAssembler(cat, cat.sqliteFile!, jobId, threadAfter);
      const all = records(11);
      for (let i = 0; i < all.length; i += 4) a.add(all.slice(i, i + 4)); // notifications cut anywhere
      await a.finish();
      assert.equal(a.threaded, threaded);
      assert.equal(a.files, 11);
      assert.deepEqual(a.agentStates, { 'fs#1': { n: 11 } });
      const rows = [];
      for await (const r of cat.filesOfJob(jobId)) rows.push([r.fileIndex, Buffer.from(r.digest ?? []).toString('hex')]);
      assert.deepEqual(rows, Array.from({ length: 11 }, (_, k) => [k + 1, sha(`f${k + 1}`).toString('hex')]));
    } finally {
      await cat.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
