import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCairnError, type CairnError } from '../plugin-api/index.js';
import { loadConfig, parseConfig, type ConfigProblem } from './index.js';

const DIR = `director:
  name: dir1
  listen: { address: 127.0.0.1, port: 9101 }
  workingDirectory: /var/lib/cairn/dir
consoles:
  - { name: admin, password: s3cret }
clients:
  - name: laptop
    address: 127.0.0.1
    port: 9102
    password: pw-fd
storages:
  - { name: File1, address: 127.0.0.1, port: 9103, password: pw-sd, device: FileStorage, mediaType: File }
pools:
  - { name: Default }
filesets:
  - name: home
    include: [/home]
schedules:
  - name: nightly
    run: ['daily at 23:05']
jobs:
  - name: demo
    client: laptop
    fileset: home
    storage: File1
    pool: Default
    schedule: nightly
`;

function fails(fn: () => unknown): CairnError {
  try {
    fn();
  } catch (err) {
    assert.ok(isCairnError(err), `not a CairnError: ${String(err)}`);
    return err;
  }
  assert.fail('expected an error');
}

test('a valid Director file loads with defaults applied and absolute paths', () => {
  const { config, warnings } = parseConfig('dir', DIR, '/etc/cairn/cairn-dir.yaml');
  assert.deepEqual(warnings, []);
  assert.equal(config.director.maxConcurrentJobs, 10);
  assert.equal(config.director.heartbeatSeconds, 60);
  assert.deepEqual(config.director.tls, { mode: 'auto' });
  assert.deepEqual(config.director.catalog, { engine: 'sqlite', path: '/var/lib/cairn/dir/catalog.db' });
  assert.equal(config.messages.logFile, '/var/lib/cairn/dir/cairn-dir.log');
  assert.deepEqual(config.consoles[0].allow, ['127.0.0.1/32', '::1/128']);
  assert.equal(config.clients[0].maxConcurrentJobs, 2);
  assert.deepEqual(config.filesets[0], { name: 'home', include: ['/home'], exclude: [], options: { compression: 'zstd', level: 1 }, agents: [] });
  assert.deepEqual(config.jobs[0], {
    name: 'demo', type: 'backup', client: 'laptop', fileset: 'home', storage: 'File1', pool: 'Default', schedule: 'nightly',
    level: 'incremental', maxRetries: 0, retryDelaySeconds: 300, runBefore: [], runAfter: [], agentOptions: {},
  });
});

test('a typo in a key names file:line:column, the key path and the likely key', () => {
  const text = DIR.replace('    schedule: nightly', '    shedule: nightly');
  const err = fails(() => parseConfig('dir', text, 'cairn-dir.yaml'));
  assert.equal(err.code, 'CAIRN_E_CONFIG_INVALID');
  assert.equal(err.fields.line, 28);
  assert.equal(err.fields.column, 5);
  assert.equal(err.fields.key, 'jobs[0].shedule');
  assert.match(err.message, /^cairn-dir\.yaml:28:5: jobs\[0\]\.shedule: unknown key \(expected one of: name, type, client, .*; did you mean "schedule"\?\)/);
});

test('a missing required key is named, at the mapping that lacks it', () => {
  const text = DIR.replace('    address: 127.0.0.1\n    port: 9102', '    port: 9102');
  const err = fails(() => parseConfig('dir', text, 'cairn-dir.yaml'));
  assert.equal(err.code, 'CAIRN_E_CONFIG_INVALID');
  assert.deepEqual([err.fields.line, err.fields.column, err.fields.key], [8, 5, 'clients[0]']);
  assert.match(err.message, /^cairn-dir\.yaml:8:5: clients\[0\]: missing required key "address"/);
});

test('a wrong type names the line and the expected form', () => {
  const err = fails(() => parseConfig('dir', DIR.replace('port: 9101', 'port: abc'), 'cairn-dir.yaml'));
  assert.equal(err.fields.line, 3);
  assert.equal(err.fields.key, 'director.listen.port');
  assert.equal(err.fields.expected, 'an integer from 1 to 65535');
  assert.match(err.message, /^cairn-dir\.yaml:3:\d+: director\.listen\.port: expected an integer from 1 to 65535, got "abc"$/);
});

test('all problems are reported, the first on the first line, in file order', () => {
  const text = DIR.replace('port: 9101', 'port: 0').replace('    schedule: nightly', '    shedule: nightly').replace('level: 1', '').replace('  - { name: Default }', '  - { name: Default, maxVolumeJobs: -1 }');
  const err = fails(() => parseConfig('dir', text, 'cairn-dir.yaml'));
  const problems = err.fields.errors as ConfigProblem[];
  assert.deepEqual(problems.map((p) => p.key), ['director.listen.port', 'pools[0].maxVolumeJobs', 'jobs[0].shedule']);
  assert.equal(err.fields.count, 3);
  const lines = err.message.split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[1], /^2 more problems:$/);
  assert.match(lines[2], /^ {2}cairn-dir\.yaml:\d+:\d+: pools\[0\]\.maxVolumeJobs: expected an integer of at least 1, got -1$/);
});

test('YAML syntax errors carry the line', () => {
  const err = fails(() => parseConfig('dir', 'director:\n  name: dir1\n  listen: { port: 9101\nconsoles: []\n', 'cairn-dir.yaml'));
  assert.equal(err.code, 'CAIRN_E_CONFIG_INVALID');
  assert.ok((err.fields.line as number) >= 3, `line ${String(err.fields.line)}`);
  assert.match(err.message, /^cairn-dir\.yaml:\d+:\d+: \(YAML syntax\): /);
  const dup = fails(() => parseConfig('fd', 'fd:\n  name: a\n  name: b\n', 'cairn-fd.yaml'));
  assert.equal(dup.fields.line, 3);
  assert.match(dup.message, /unique/);
  const two = fails(() => parseConfig('console', 'console: { name: a }\n---\nx: 1\n', 'console.yaml'));
  assert.match(two.message, /^console\.yaml:2:1: \(YAML syntax\): a configuration file holds one YAML document/);
});

test('an undefined client named by a job points at that value', () => {
  const err = fails(() => parseConfig('dir', DIR.replace('    client: laptop', '    client: laptpo'), 'cairn-dir.yaml'));
  assert.equal(err.code, 'CAIRN_E_CONFIG_INVALID');
  assert.deepEqual([err.fields.line, err.fields.column, err.fields.key], [24, 13, 'jobs[0].client']);
  assert.match(err.message, /no client named "laptpo" \(expected one of: laptop; did you mean "laptop"\?\)/);
});

test('duplicate names and filesets that select nothing are errors', () => {
  const text = DIR.replace('  - { name: Default }', '  - { name: Default }\n  - { name: Default }').replace('    include: [/home]', '    exclude: ["*.tmp"]');
  const err = fails(() => parseConfig('dir', text, 'cairn-dir.yaml'));
  const keys = (err.fields.errors as ConfigProblem[]).map((p) => p.key);
  assert.deepEqual(keys, ['pools[1].name', 'filesets[0]', 'filesets[0].exclude']);
  assert.match(err.message, /duplicate name "Default" \(already used by pools\[0\]\)/);
});

test('oneOf reports the branch the value aimed at', () => {
  const pg = DIR.replace('  workingDirectory: /var/lib/cairn/dir', '  workingDirectory: /var/lib/cairn/dir\n  catalog: { engine: postgres, user: cairn }');
  const err = fails(() => parseConfig('dir', pg, 'cairn-dir.yaml'));
  assert.match(err.message, /director\.catalog: missing required key "database"/);
  const tls = fails(() => parseConfig('dir', DIR.replace('port: 9101 }', 'port: 9101 }\n  tls: { mode: cert, cert: a.pem }'), 'cairn-dir.yaml'));
  assert.match(tls.message, /director\.tls: missing required key "key"/);
  const secret = fails(() => parseConfig('dir', DIR.replace('password: s3cret', 'password: { path: x }'), 'cairn-dir.yaml'));
  assert.match(secret.message, /consoles\[0\]\.password: expected a secret: a non-empty string, \{ file: PATH \} or \{ env: NAME \}, got a mapping/);
  const ok = parseConfig('dir', pg.replace('user: cairn', 'user: cairn, database: cairn, password: { env: CAIRN_TEST_PG }'), '/etc/cairn-dir.yaml', { env: { CAIRN_TEST_PG: 'pgpw' } });
  assert.deepEqual(ok.config.director.catalog, { engine: 'postgres', user: 'cairn', database: 'cairn', password: 'pgpw', port: 5432 });
});

test('allow-lists: bare addresses get their prefix, bad ones are errors', () => {
  const fd = 'fd:\n  name: laptop\n  listen: { port: 9102 }\n  workingDirectory: wd\ndirectors:\n  - name: dir1\n    password: x\n    allow: [10.0.0.0/8, 192.168.1.5, "::1", "fe80::/10"]\n';
  const { config } = parseConfig('fd', fd, '/etc/cairn/cairn-fd.yaml');
  assert.deepEqual(config.directors[0].allow, ['10.0.0.0/8', '192.168.1.5/32', '::1/128', 'fe80::/10']);
  assert.equal(config.fd.workingDirectory, '/etc/cairn/wd');
  assert.equal(config.fd.listen.address, '127.0.0.1');
  assert.deepEqual(config.plugins, { directories: [], allow: [], isolation: {} });
  for (const bad of ['10.0.0.0/33', '300.1.1.1', 'fe80:::1:/10', 'laptop']) {
    const err = fails(() => parseConfig('fd', fd.replace('10.0.0.0/8', JSON.stringify(bad)), 'cairn-fd.yaml'));
    assert.equal(err.fields.key, 'directors[0].allow[0]', bad);
    assert.equal(err.fields.line, 8);
  }
});

test('secrets come from files and environment variables', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-config-'));
  try {
    writeFileSync(join(dir, 'fd.pw'), 'from-file\n', { mode: 0o600 });
    writeFileSync(join(dir, 'sd.pw'), 'loose\n', { mode: 0o644 });
    chmodSync(join(dir, 'sd.pw'), 0o644);
    process.env.CAIRN_TEST_CONSOLE_PW = 'from-env';
    const text = DIR.replace('password: s3cret', 'password: { env: CAIRN_TEST_CONSOLE_PW }').replace('password: pw-fd', 'password: { file: fd.pw }').replace('password: pw-sd', `password: { file: ${join(dir, 'sd.pw')} }`);
    writeFileSync(join(dir, 'cairn-dir.yaml'), text, { mode: 0o600 });
    const { config, warnings } = loadConfig('dir', join(dir, 'cairn-dir.yaml'));
    assert.equal(config.consoles[0].password, 'from-env');
    assert.equal(config.clients[0].password, 'from-file');
    assert.equal(config.storages[0].password, 'loose');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /cairn-dir\.yaml:13:\d+: storages\[0\]\.password: secret file .*sd\.pw is readable by everyone \(mode 0644\)/);

    delete process.env.CAIRN_TEST_CONSOLE_PW;
    const err = fails(() => loadConfig('dir', join(dir, 'cairn-dir.yaml')));
    assert.equal(err.code, 'CAIRN_E_CONFIG_SECRET');
    assert.equal(err.fields.variable, 'CAIRN_TEST_CONSOLE_PW');
    assert.equal(err.fields.line, 6);
    assert.match(err.message, /consoles\[0\]\.password: environment variable CAIRN_TEST_CONSOLE_PW is not set/);
    process.env.CAIRN_TEST_CONSOLE_PW = '';
    assert.match(fails(() => loadConfig('dir', join(dir, 'cairn-dir.yaml'))).message, /CAIRN_TEST_CONSOLE_PW is empty/);
    delete process.env.CAIRN_TEST_CONSOLE_PW;

    writeFileSync(join(dir, 'inline.yaml'), DIR, { mode: 0o644 });
    chmodSync(join(dir, 'inline.yaml'), 0o644);
    const inline = loadConfig('dir', join(dir, 'inline.yaml'));
    assert.match(inline.warnings[0], /holds inline secrets but is readable by everyone/);
  } finally {
    delete process.env.CAIRN_TEST_CONSOLE_PW;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unreadable file is CAIRN_E_CONFIG_READ; an empty one lacks required keys', () => {
  const err = fails(() => loadConfig('sd', '/nonexistent/cairn-sd.yaml'));
  assert.equal(err.code, 'CAIRN_E_CONFIG_READ');
  assert.equal(err.fields.errno, 'ENOENT');
  const empty = fails(() => parseConfig('console', '', 'console.yaml'));
  assert.match(empty.message, /^console\.yaml:1:1: \(top level\): missing required key "console"/);
});

test('the SD and console files load; blockSize must be a multiple of 512', () => {
  const sd = 'sd:\n  name: File1\n  listen: { port: 9103 }\n  workingDirectory: /var/lib/cairn/sd\ndirectors:\n  - { name: dir1, password: x }\ndevices:\n  - { name: FileStorage, mediaType: File, path: /srv/volumes, blockSize: 65536 }\n';
  const { config } = parseConfig('sd', sd, 'cairn-sd.yaml');
  assert.equal(config.devices[0].type, 'file');
  assert.equal(config.sd.maxConcurrentJobs, 20);
  const err = fails(() => parseConfig('sd', sd.replace('65536', '1000'), 'cairn-sd.yaml'));
  assert.match(err.message, /devices\[0\]\.blockSize: expected an integer of at least 512, a multiple of 512, got 1000/);
  const con = parseConfig('console', 'console: { name: admin }\ndirector: { name: dir1, address: 10.1.1.1, port: 9101, password: pw }\n', 'console.yaml');
  assert.deepEqual(con.config.director.tls, { mode: 'auto' });
});

test('at most 20 problems are listed; the count says how many there were', () => {
  const consoles = Array.from({ length: 25 }, (_, i) => `  - { name: c${i}, password: "" }\n`).join('');
  const err = fails(() => parseConfig('dir', `director: { name: d, listen: { port: 1 }, workingDirectory: w }\nconsoles:\n${consoles}`, 'cairn-dir.yaml'));
  assert.equal(err.fields.count, 25);
  assert.equal((err.fields.errors as ConfigProblem[]).length, 20);
  assert.match(err.message, /\n {2}… and 5 more not shown$/);
});

test('password keys inside agent options are the agent\'s, not secrets', () => {
  const text = DIR.replace('    include: [/home]', '    agents: [{ agent: pg, options: { password: { env: CAIRN_TEST_UNSET } } }]');
  const { config } = parseConfig('dir', text, 'cairn-dir.yaml', { env: {} });
  assert.deepEqual(config.filesets[0].agents[0].options, { password: { env: 'CAIRN_TEST_UNSET' } });
});

test('a storage is reached by address and port or by command (stdio), never both or neither', () => {
  const byCommand = DIR.replace('{ name: File1, address: 127.0.0.1, port: 9103,', '{ name: File1, command: [/usr/bin/ssh, -T, vault, cairn-sd, --stdio],');
  const ok = parseConfig('dir', byCommand, '/etc/cairn/cairn-dir.yaml').config.storages[0];
  assert.deepEqual(ok.command, ['/usr/bin/ssh', '-T', 'vault', 'cairn-sd', '--stdio']);
  assert.equal(ok.address, undefined);
  const both = fails(() => parseConfig('dir', DIR.replace('port: 9103,', 'port: 9103, command: [ssh],'), 'x.yaml'));
  assert.match(both.message, /x\.yaml:\d+:\d+.*address and port or command, not both/s);
  const neither = fails(() => parseConfig('dir', DIR.replace('address: 127.0.0.1, port: 9103, ', ''), 'x.yaml'));
  assert.match(neither.message, /needs address and port \(TCP\) or command \(stdio\)/);
  const half = fails(() => parseConfig('dir', DIR.replace('address: 127.0.0.1, port: 9103, ', 'address: 127.0.0.1, '), 'x.yaml'));
  assert.match(half.message, /address and port go together: port is missing/);
});

test('catalog jobs: no fileset, copyTo made absolute, level forced to full; a backup job needs a fileset and takes no copyTo', () => {
  const catalogJob = '  - { name: cat, type: catalog, client: laptop, storage: File1, pool: Default, level: incremental, copyTo: offsite }\n';
  const ok = parseConfig('dir', DIR + catalogJob, '/etc/cairn/cairn-dir.yaml', { baseDir: '/etc/cairn' }).config.jobs[1];
  assert.deepEqual([ok.type, ok.fileset, ok.level, ok.copyTo], ['catalog', undefined, 'full', '/etc/cairn/offsite']);
  const withFileset = fails(() => parseConfig('dir', DIR + '  - { name: cat, type: catalog, client: laptop, fileset: home, storage: File1, pool: Default }\n', 'cairn-dir.yaml'));
  assert.equal(withFileset.fields.key, 'jobs[1].fileset');
  assert.match(withFileset.message, /a catalog job backs up the catalog, its config and bootstrap files: it takes no fileset/);
  const noFileset = fails(() => parseConfig('dir', DIR.replace('    fileset: home\n', ''), 'cairn-dir.yaml'));
  assert.equal(noFileset.fields.key, 'jobs[0]');
  assert.match(noFileset.message, /a backup job needs a fileset/);
  const copyTo = fails(() => parseConfig('dir', DIR.replace('    fileset: home\n', '    fileset: home\n    copyTo: /x\n'), 'cairn-dir.yaml'));
  assert.equal(copyTo.fields.key, 'jobs[0].copyTo');
  assert.match(copyTo.message, /copyTo is for catalog jobs/);
});

test('metrics: listen defaults to loopback, allow defaults to loopback and bare addresses get their prefix; a bad entry is an error', () => {
  const withMetrics = (m: string) => DIR.replace('  workingDirectory: /var/lib/cairn/dir\n', `  workingDirectory: /var/lib/cairn/dir\n  metrics: ${m}\n`);
  const a = parseConfig('dir', withMetrics('{ listen: { port: 9181 } }'), 'cairn-dir.yaml').config.director.metrics;
  assert.deepEqual(a, { listen: { address: '127.0.0.1', port: 9181 }, allow: ['127.0.0.1/32', '::1/128'] });
  const b = parseConfig('dir', withMetrics('{ listen: { address: 0.0.0.0, port: 9181 }, allow: [10.0.0.5, 192.168.0.0/16] }'), 'cairn-dir.yaml').config.director.metrics;
  assert.deepEqual(b?.allow, ['10.0.0.5/32', '192.168.0.0/16']);
  const bad = fails(() => parseConfig('dir', withMetrics('{ listen: { port: 9181 }, allow: [nowhere] }'), 'cairn-dir.yaml'));
  assert.equal(bad.fields.key, 'director.metrics.allow[0]');
  const noPort = fails(() => parseConfig('dir', withMetrics('{ listen: { address: 127.0.0.1 } }'), 'cairn-dir.yaml'));
  assert.match(noPort.message, /director\.metrics\.listen: missing required key "port"/);
});
