import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPorts, loadConfig, writeQuickstart } from './index.js';

test('freeLoopbackPorts gives distinct usable ports', async () => {
  const ports = await freeLoopbackPorts(3);
  assert.equal(new Set(ports).size, 3);
  for (const p of ports) assert.ok(p > 0 && p < 65536);
});

test('the quickstart writes four 0600 files that load back and work together', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-quickstart-'));
  try {
    const source = join(dir, 'data');
    const { files, ports } = await writeQuickstart(dir, { source, ports: { dir: 19101 } });
    assert.equal(ports.dir, 19101);
    assert.equal(new Set([ports.dir, ports.fd, ports.sd]).size, 3);
    assert.deepEqual(Object.values(files).map((f) => f.slice(dir.length + 1)), ['cairn-dir.yaml', 'cairn-fd.yaml', 'cairn-sd.yaml', 'console.yaml']);
    for (const f of Object.values(files)) {
      assert.equal(statSync(f).mode & 0o777, 0o600, f);
      assert.match(readFileSync(f, 'utf8'), /^# yaml-language-server: \$schema=https:\/\/\S+\.schema\.json\n/);
    }
    for (const d of ['dir', 'fd', 'sd', 'volumes']) assert.ok(statSync(join(dir, d)).isDirectory());

    const d = loadConfig('dir', files.dir);
    const fd = loadConfig('fd', files.fd);
    const sd = loadConfig('sd', files.sd);
    const con = loadConfig('console', files.console);
    for (const l of [d, fd, sd, con]) assert.deepEqual(l.warnings, []);
    assert.equal(d.config.director.catalog.engine, 'sqlite');
    assert.equal(d.config.director.catalog.engine === 'sqlite' && d.config.director.catalog.path, join(dir, 'dir', 'catalog.db'));
    assert.deepEqual(d.config.filesets[0].include, [source]);
    assert.equal(d.config.jobs[0].name, 'demo');
    assert.equal(sd.config.devices[0].path, join(dir, 'volumes'));
    // the pieces agree with each other
    assert.equal(con.config.director.port, d.config.director.listen.port);
    assert.equal(con.config.director.password, d.config.consoles[0].password);
    assert.equal(d.config.clients[0].name, fd.config.fd.name);
    assert.equal(d.config.clients[0].port, fd.config.fd.listen.port);
    assert.equal(d.config.clients[0].password, fd.config.directors[0].password);
    assert.equal(d.config.storages[0].password, sd.config.directors[0].password);
    assert.equal(d.config.storages[0].device, sd.config.devices[0].name);
    assert.equal(fd.config.directors[0].name, d.config.director.name);
    const secrets = [d.config.consoles[0].password, d.config.clients[0].password, d.config.storages[0].password];
    assert.equal(new Set(secrets).size, 3);
    for (const s of secrets) assert.match(s, /^[A-Za-z0-9_-]{32}$/);

    const before = readFileSync(files.dir, 'utf8');
    await assert.rejects(writeQuickstart(dir, { source }), (err: { code?: string; fields?: { file?: string } }) => err.code === 'CAIRN_E_CONFIG_EXISTS' && err.fields?.file === files.dir);
    assert.equal(readFileSync(files.dir, 'utf8'), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the quickstart refuses when any one of the files exists, and writes none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-quickstart-'));
  try {
    const first = await writeQuickstart(dir, { source: '/srv' });
    rmSync(first.files.dir);
    rmSync(first.files.fd);
    await assert.rejects(writeQuickstart(dir, { source: '/srv' }), { code: 'CAIRN_E_CONFIG_EXISTS' });
    assert.equal(existsSync(first.files.dir), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
