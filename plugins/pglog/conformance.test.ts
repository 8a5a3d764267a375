/**
 * The pglog agent passes the plugin API conformance kit on a real cluster
 * (1 MiB WAL segments, archiving into a spool): the kit's Fulls,
 * Incrementals after a failed job and Differential, restored and started
 * with pg_ctl, must hold the rows the source holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runConformance } from '../../plugin-api/index.js';
import { removeTree } from '../../test/support/temp.js';
import { startExistingCluster, startPostgres } from '../../test/support/postgres.js';
import * as pglog from './index.js';

test('the pglog agent passes the plugin API conformance kit on a real cluster', async (t) => {
  const top = mkdtempSync(join(tmpdir(), 'cairn-pglog-kit-'));
  t.after(() => removeTree(top));
  chmodSync(top, 0o711); // the server's user reaches the spool and the restored clusters
  const spool = join(top, 'spool');
  const pg = await startPostgres(t, { initdbArgs: ['--wal-segsize=1'], archiveTo: spool });
  if (!pg) return;
  t.after(() => pg.stop());
  await pg.query('CREATE TABLE k (id int PRIMARY KEY)');
  await pg.query('INSERT INTO k SELECT generate_series(1, 100)');
  const count = async (q: (sql: string) => Promise<Array<{ n: string }>>) => (await q('SELECT count(*) AS n FROM k'))[0].n;
  let restores = 0;
  const report = await runConformance(pglog, {
    include: [],
    scratch: join(top, 'scratch'),
    options: { spool, host: pg.host, port: pg.port, user: pg.user, archiveWaitSeconds: 60 },
    mutate: async () => {
      await pg.query('INSERT INTO k SELECT generate_series(101, 250)');
    },
    compare: async (where) => {
      chmodSync(dirname(where), 0o711);
      chmodSync(where, 0o711);
      const cl = await startExistingCluster(join(where, 'main', 'data'), join(top, `sock${++restores}`), { waitPromoted: true });
      try {
        const got = await count((sql) => cl.query(sql));
        const want = await count((sql) => pg.query(sql));
        return { ok: got === want, message: `restored cluster holds ${got} rows, the source ${want}` };
      } finally {
        await cl.stop();
      }
    },
  });
  assert.deepEqual(report.checks.filter((c) => !c.ok), []);
  assert.equal(report.ok, true);
  assert.deepEqual(report.checks.filter((c) => c.skipped).map((c) => c.name), [], 'nothing skipped: restores are compared by starting the cluster');
  assert.ok(restores >= 3, `the kit restored ${restores} times`);
});
