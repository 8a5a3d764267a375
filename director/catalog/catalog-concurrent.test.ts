import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { type TestContext, test } from 'node:test';
import pg from 'pg';
import { Catalog, type CatalogFileRow, PgDriver } from './index.js';
import { encodeCopyRows } from './pg-copy.js';
import { ENGINES, postgresCluster } from './test-engines.js';

function row(fileIndex: number, path: string): CatalogFileRow {
  return {
    fileIndex,
    path: Buffer.from(path),
    agent: 'fs/1',
    kind: 'file',
    stat: { mode: 0o100644, uid: 1000, gid: 1000, size: fileIndex, mtimeNs: BigInt(fileIndex), atimeNs: 1n, ctimeNs: 2n, dev: 1n, ino: BigInt(fileIndex), nlink: 1, rdev: 0 },
    digest: Buffer.alloc(32, fileIndex & 0xff),
  };
}

async function job(cat: Catalog, name: string): Promise<number> {
  return cat.createJob({ name, type: 'backup', level: 'full', client: 'c', startedAt: new Date(1) });
}

for (const engine of ENGINES) {
  test(`${engine.name}: two jobs insert 50,000 file rows each at the same time; both complete with their own rows`, async (t) => {
    const cat = await engine.open(t);
    if (!cat) return;
    try {
      const N = 50_000;
      const [a, b] = [await job(cat, 'a'), await job(cat, 'b')];
      const fill = async (id: number, dir: string): Promise<void> => {
        for (let s = 0; s < N; s += 2000) {
          const batch: CatalogFileRow[] = [];
          for (let i = s; i < s + 2000; i++) batch.push(row(i + 1, `/${dir}/f${String(i).padStart(6, '0')}`));
          await cat.insertFiles(id, batch);
        }
      };
      const t0 = process.hrtime.bigint();
      await Promise.all([fill(a, 'a'), fill(b, 'b')]);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      t.diagnostic(`${engine.name}: 2 jobs × ${N} rows at once in batches of 2000: ${(s * 1000).toFixed(0)} ms (${Math.round((2 * N) / s)} rows/s together)`);
      for (const [id, dir] of [[a, 'a'], [b, 'b']] as const) {
        let n = 0;
        for await (const r of cat.filesOfJob(id)) {
          n++;
          assert.equal(r.fileIndex, n);
          assert.equal(Buffer.from(r.path).toString(), `/${dir}/f${String(n - 1).padStart(6, '0')}`);
          if (n === 1234) assert.deepEqual(r.digest, Buffer.alloc(32, 1234 & 0xff));
        }
        assert.equal(n, N);
      }
      assert.equal(await cat.countFiles([a, b]), 2 * N);
    } finally {
      await cat.close();
    }
  });
}

/** A PostgreSQL catalog plus a plain client on the same database (to hold locks from outside). */
async function pgPair(t: TestContext): Promise<{ cat: Catalog; other: pg.Client } | null> {
  const c = await postgresCluster(t);
  if (!c) return null;
  const database = await c.createDatabase();
  const cat = await Catalog.openWith(await PgDriver.open({ host: c.host, port: c.port, user: c.user, database }));
  const other = new pg.Client({ host: c.host, port: c.port, user: c.user, database });
  await other.connect();
  return { cat, other };
}

test('postgres: a batch waiting on a row lock holds up neither another job\'s batch nor the ordered writer; a durable commit and close wait for it', async (t) => {
  const pair = await pgPair(t);
  if (!pair) return;
  const { cat, other } = pair;
  try {
    const [a, b] = [await job(cat, 'a'), await job(cat, 'b')];
    // Another session inserts job a's file 1 and keeps its transaction open: a's batch with file 1 must wait for it.
    await other.query('BEGIN');
    await other.query('INSERT INTO files (job_id, file_index, path, tree_key, agent, kind, mode, uid, gid, size, mtime_ns, atime_ns, ctime_ns, dev, ino, nlink, rdev) VALUES ($1, 1, $2, $2, \'fs/1\', \'file\', 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0)', [a, Buffer.from('/held')]);
    const events: string[] = [];
    const blocked = cat.insertFiles(a, [row(1, '/a/1'), row(2, '/a/2')]).then(() => events.push('a stored'));
    // Job b's batch and the ordered writer go on meanwhile.
    await cat.insertFiles(b, Array.from({ length: 3000 }, (_, i) => row(i + 1, `/b/${i}`)));
    await cat.updateJob(b, { files: 3000 });
    await cat.addJobLog(b, { level: 'info', text: 'b went on' });
    assert.equal(await cat.countFiles(b), 3000);
    assert.equal(events.length, 0);
    // A durable commit issued now waits for a's batch, issued before it.
    const finished = cat.finishJob(b, { status: 'ok', endedAt: new Date(2), files: 3000, bytes: 0, errors: 0 }).then(() => events.push('b finished'));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(events.length, 0, 'the durable commit waits for the batch issued before it');
    await other.query('ROLLBACK');
    await Promise.all([blocked, finished]);
    assert.deepEqual(events, ['a stored', 'b finished']);
    assert.equal(await cat.countFiles(a), 2);

    // close() waits for batches in flight.
    await other.query('BEGIN');
    await other.query('INSERT INTO files (job_id, file_index, path, tree_key, agent, kind, mode, uid, gid, size, mtime_ns, atime_ns, ctime_ns, dev, ino, nlink, rdev) VALUES ($1, 10, $2, $2, \'fs/1\', \'file\', 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0)', [a, Buffer.from('/held')]);
    const inFlight = cat.insertFiles(a, [row(10, '/a/10')]);
    const closed = cat.close().then(() => events.push('closed'));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(events.includes('closed'), false);
    await other.query('ROLLBACK');
    await inFlight;
    await closed;
    const n = await other.query('SELECT count(*)::int AS n FROM files WHERE job_id = $1', [a]);
    assert.equal(n.rows[0].n, 3);
    await assert.rejects(cat.insertFiles(a, [row(11, '/a/11')]), { code: 'CAIRN_E_CATALOG_CLOSED' });
  } finally {
    await cat.close();
    await other.end();
  }
});

test('postgres: a batch that cannot be stored stores none of its rows, and the catalog goes on', async (t) => {
  const pair = await pgPair(t);
  if (!pair) return;
  const { cat, other } = pair;
  try {
    const a = await job(cat, 'a');
    await cat.insertFiles(a, [row(1, '/a/1')]);
    await assert.rejects(cat.insertFiles(a, [row(2, '/a/2'), row(1, '/a/dup')]), (e: { code?: string; fields?: { pgCode?: string } }) => e.code === 'CAIRN_E_CATALOG_QUERY' && e.fields?.pgCode === '23505');
    // A value its column cannot take (uid is BIGINT: fine; a 2^64 inode wraps; a fractional size is refused before any row is sent).
    const bad = { ...row(3, '/a/3'), stat: { ...row(3, '/a/3').stat, size: 1.5 } };
    await assert.rejects(cat.insertFiles(a, [row(4, '/a/4'), bad]), { code: 'CAIRN_E_CATALOG_QUERY' });
    await cat.insertFiles(a, [row(2, '/a/2'), { ...row(3, '/a/3'), stat: { ...row(3, '/a/3').stat, uid: -1, ino: (1n << 64n) - 1n } }]);
    const rows: CatalogFileRow[] = [];
    for await (const r of cat.filesOfJob(a)) rows.push(r);
    assert.deepEqual(rows.map((r) => r.fileIndex), [1, 2, 3]);
    assert.equal(rows[2].stat.uid, -1);
    assert.equal(rows[2].stat.ino, (1n << 64n) - 1n);
  } finally {
    await cat.close();
    await other.end();
  }
});

test('binary COPY encoding: header, int8 halves for negative numbers, NULL, bool, text, bytea, trailer', () => {
  const [header, body] = encodeCopyRows([20, 16, 25, 17, 23], ['a', 'b', 'c', 'd', 'e'], [[-2, true, 'é', Buffer.from([0, 255]), null]]);
  assert.deepEqual(header, Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]));
  const expected = Buffer.concat([
    Buffer.from([0, 5]),
    Buffer.from([0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]),
    Buffer.from([0, 0, 0, 1, 1]),
    Buffer.from([0, 0, 0, 2, 0xc3, 0xa9]),
    Buffer.from([0, 0, 0, 2, 0, 255]),
    Buffer.from([0xff, 0xff, 0xff, 0xff]),
    Buffer.from([0xff, 0xff]),
  ]);
  assert.deepEqual(body, expected);
  assert.deepEqual(encodeCopyRows([20], ['a'], [[2 ** 40 + 3]])[1].subarray(2, 14), Buffer.from([0, 0, 0, 8, 0, 0, 1, 0, 0, 0, 0, 3]));
  assert.throws(() => encodeCopyRows([20], ['a'], [[1, 2]]), TypeError);
  assert.throws(() => encodeCopyRows([23], ['a'], [[2 ** 31]]), RangeError);
});
