import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import { StreamType, isCairnError, type FileEntry } from '../../plugin-api/index.js';
import { encodeAttributes, encodePackIndex } from '../../core/index.js';
import { Catalog } from '../catalog/index.js';
import { FileAssemblerThread } from './file-assembler-thread.js';

const loc = { volume: 'V-0001', file: 0, block: 1 };
const entry = (path: string, size: number): FileEntry => ({
  path: Buffer.from(path), kind: 'file', streams: [{ index: 0, name: 'data', layout: 'sequential', size }],
  stat: { mode: 0o100644, uid: 0, gid: 0, size, mtimeNs: 1n, atimeNs: 1n, ctimeNs: 1n, dev: 1n, ino: 1n, nlink: 1, rdev: 0 },
});

async function withCatalog(fn: (cat: Catalog, jobId: number) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-assembler-thread-'));
  const cat = await Catalog.open(join(dir, 'catalog.db'));
  try {
    await fn(cat, await cat.createJob({ name: 'j', type: 'backup', level: 'full', client: 'c', startedAt: new Date(1) }));
  } finally {
    await cat.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the file-row thread stores rows with their digests from a pack index and hands back agent states', async () => {
  await withCatalog(async (cat, jobId) => {
    const a = new FileAssemblerThread(cat.sqliteFile!, jobId);
    const sha = createHash('sha256').update('hello').digest();
    a.add([
      { record: { fileIndex: 1, streamType: StreamType.ATTRIBUTES, streamNo: 0, payload: encodeAttributes(entry('/x/a', 5), 'fs/1') }, location: loc },
      { record: { fileIndex: 2, streamType: StreamType.ATTRIBUTES, streamNo: 0, payload: encodeAttributes(entry('/x/b', 0), 'fs/1') }, location: loc },
      { record: { fileIndex: 1, streamType: StreamType.PACK_INDEX, streamNo: 1, payload: encodePackIndex([{ fileIndex: 1, streamNo: 0, length: 5, digest: sha }, { fileIndex: 2, streamNo: 0, length: 0, digest: createHash('sha256').digest() }]) }, location: loc },
      { record: { fileIndex: 0, streamType: StreamType.AGENT_STATE, streamNo: 0, payload: Buffer.from(JSON.stringify({ key: 'fs#1', state: { n: 7 } })) }, location: loc },
    ]);
    await a.finish();
    assert.equal(a.files, 2);
    assert.deepEqual(a.agentStates, { 'fs#1': { n: 7 } });
    assert.deepEqual([...a.volumes], ['V-0001']);
    const rows = [];
    for await (const r of cat.filesOfJob(jobId)) rows.push(r);
    assert.deepEqual(rows.map((r) => [Buffer.from(r.path).toString(), Buffer.from(r.digest!).toString('hex')]), [['/x/a', sha.toString('hex')], ['/x/b', createHash('sha256').digest('hex')]]);
  });
});

test('an undecodable attributes record fails finish() with its code; close() stops a thread that never finished', async () => {
  await withCatalog(async (cat, jobId) => {
    const a = new FileAssemblerThread(cat.sqliteFile!, jobId);
    a.add([{ record: { fileIndex: 1, streamType: StreamType.ATTRIBUTES, streamNo: 0, payload: Buffer.from([9, 9, 9]) }, location: loc }]);
    await assert.rejects(a.finish(), (e: unknown) => isCairnError(e) && e.code === 'CAIRN_E_RECORD_CORRUPT');
    const b = new FileAssemblerThread(cat.sqliteFile!, jobId);
    await b.close();
  });
});
