import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Agent, AgentContext, AgentModule, DataChunk, FileEntry } from '../types.js';
import { CairnError } from '../errors.js';
import { HookRunner } from '../hook-runner.js';
import { runConformance, wrappingCheck, type ConformanceReport } from './run-conformance.js';

/** The authors' guide example: one virtual file, restored under `where`. */
function helloAgent(overrides: (a: Agent, ctx: AgentContext) => Partial<Agent> = () => ({})): AgentModule {
  const content = Buffer.from('hello, cairn\n');
  const filePath = Buffer.from('/virtual/hello.txt');
  return {
    manifest: { name: 'hello', version: '1.0.0', api: '>=1 <2', formatMajor: 1, restoreKind: 'files', options: { type: 'object', properties: {} } },
    createAgent(ctx) {
      let sent = false;
      let where = '/';
      let out: Buffer[] = [];
      const agent: Agent = {
        async prepareBackup() {
          sent = false;
        },
        async nextFile(): Promise<FileEntry | null> {
          if (sent) return null;
          sent = true;
          const now = 1_700_000_000_000_000_000n;
          return {
            path: filePath,
            kind: 'file',
            stat: { mode: 0o100644, uid: 0, gid: 0, size: content.length, mtimeNs: now, atimeNs: now, ctimeNs: now, dev: 0n, ino: 1n, nlink: 1, rdev: 0 },
            streams: [{ index: 0, name: 'data', layout: 'sequential', size: content.length }],
          };
        },
        async *readData(): AsyncIterable<DataChunk> {
          yield Buffer.from(content);
        },
        async endBackup() {
          return { state: { runs: 1 } };
        },
        async prepareRestore(job) {
          where = job.where ?? '/';
        },
        async createFile() {
          out = [];
          return 'extract';
        },
        async writeData(_f, _s, chunk) {
          out.push(Buffer.from(chunk as Uint8Array));
        },
        async endFile(file, ok) {
          if (!ok) return;
          const target = path.join(where, Buffer.from(file.path).toString());
          fs.mkdirSync(path.dirname(target), { recursive: true });
          fs.writeFileSync(target, Buffer.concat(out));
        },
        async endRestore() {},
      };
      return { ...agent, ...overrides(agent, ctx) };
    },
  };
}

const compareHello = async (where: string) => {
  const got = fs.readFileSync(path.join(where, 'virtual/hello.txt'), 'utf8');
  return { ok: got === 'hello, cairn\n', message: `restored "${got}"` };
};

async function run(mod: AgentModule): Promise<ConformanceReport> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-kit-test-'));
  try {
    return await runConformance(mod, { include: ['/virtual'], scratch, compare: compareHello, timeouts: { nextFile: 2000, readData: 2000 }, abortWithinMs: 500 });
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

const failing = (r: ConformanceReport): string[] => r.checks.filter((c) => !c.ok).map((c) => c.name).sort();

test('a minimal virtual-file agent passes every check', async () => {
  const r = await run(helloAgent());
  assert.deepEqual(failing(r), [], JSON.stringify(r.checks, null, 1));
  assert.equal(r.ok, true);
  assert.equal(r.checks.length, 8);
});

test('an agent that throws a string in nextFile fails call-order and error-wrapping', async () => {
  const r = await run(helloAgent(() => ({ nextFile: () => Promise.reject('boom') })));
  assert.deepEqual(failing(r), ['abort', 'call-order', 'error-wrapping', 'restore-round-trip', 'state-round-trip']);
  const co = r.checks.find((c) => c.name === 'call-order')!;
  assert.match(co.message, /CAIRN_E_AGENT_FAILED/);
  assert.match(co.message, /nextFile/);
  assert.match(r.checks.find((c) => c.name === 'error-wrapping')!.message, /non-Error/);
});

test('an agent whose readData throws an Error fails call-order with the wrapped code; wrapping itself is fine', async () => {
  const r = await run(
    helloAgent(() => ({
      readData: async function* () {
        throw new CairnError('CAIRN_E_HELLO_BROKEN', 'disk on fire');
      },
    })),
  );
  assert.ok(failing(r).includes('call-order'));
  assert.ok(!failing(r).includes('error-wrapping'));
  assert.match(r.checks.find((c) => c.name === 'call-order')!.message, /CAIRN_E_AGENT_FAILED: agent hello failed in readData for \/virtual\/hello.txt: disk on fire/);
});

test('an agent that reuses a yielded buffer, or keeps returning entries, fails call-order', async () => {
  const shared = Buffer.alloc(4);
  const reuse = await run(
    helloAgent(() => ({
      readData: async function* () {
        shared.fill(1);
        yield shared;
        shared.fill(2);
        yield shared;
      },
    })),
  );
  assert.match(reuse.checks.find((c) => c.name === 'call-order')!.message, /reused/);
  const endless = await run(
    helloAgent((a) => {
      let calls = 0;
      let first: FileEntry | null = null;
      return {
        nextFile: async () => {
          const e = await a.nextFile();
          if (e) first = e;
          return ++calls === 2 ? null : first; // the entry again after the end
        },
      };
    }),
  );
  assert.equal(endless.checks.find((c) => c.name === 'call-order')!.ok, false);
});

test('an agent that ignores abort fails the abort check', async () => {
  const r = await run(
    helloAgent(() => ({
      readData: async function* () {
        yield Buffer.from('hello, ');
        await new Promise((r) => setTimeout(r, 1000)); // slow, and deaf to ctx.signal
        yield Buffer.from('cairn\n');
      },
    })),
  );
  const abort = r.checks.find((c) => c.name === 'abort')!;
  assert.equal(abort.ok, false);
  assert.match(abort.message, /did not end or reject within 500 ms/);
});

test('bad manifests, missing hooks and impossible API ranges fail their named checks', async () => {
  const bad = helloAgent();
  const r1 = await run({ ...bad, manifest: { ...bad.manifest, name: 'Hello World', version: '1' } });
  assert.deepEqual(r1.checks.map((c) => [c.name, c.ok])[0], ['manifest', false]);
  assert.equal(r1.ok, false);
  const r2 = await run({ ...bad, manifest: { ...bad.manifest, api: '>=7 <8' } });
  const vn = r2.checks.find((c) => c.name === 'version-negotiation')!;
  assert.equal(vn.ok, false);
  assert.match(vn.message, /agent hello 1\.0\.0 supports plugin API >=7 <8; this cairn-conformance 1\.0\.0 speaks 1\.0/);
  const r3 = await run(helloAgent(() => ({ endRestore: undefined as unknown as Agent['endRestore'] })));
  assert.match(r3.checks.find((c) => c.name === 'hooks')!.message, /endRestore is missing/);
  const r4 = await run({ ...bad, manifest: { ...bad.manifest, api: '>=1' } });
  assert.match(r4.checks.find((c) => c.name === 'version-negotiation')!.message, /9999\.0 was not refused/);
});

test('the runner wraps a throwing hook with agent, hook, path and cause (deliberately broken hook)', async () => {
  const [ok, message] = await wrappingCheck('hello', []);
  assert.equal(ok, true, message);
  const runner = new HookRunner('broken', '0.1.0', { controller: new AbortController() });
  const original = new TypeError('bad');
  await assert.rejects(
    runner.call('createFile', () => {
      throw original;
    }, { path: Buffer.from('/etc/x') }),
    (err: CairnError) => err.code === 'CAIRN_E_AGENT_FAILED' && err.fields.agent === 'broken' && err.fields.hook === 'createFile' && err.fields.path === '/etc/x' && err.cause === original,
  );
  const [ok2, m2] = await wrappingCheck('hello', [new Error('raw, not wrapped')]);
  assert.equal(ok2, false);
  assert.match(m2, /unwrapped/);
});

test('an agent that keeps writing into a chunk buffer after yielding it fails the kit (the kit poisons and reuses it)', async () => {
  const content = Buffer.from('hello, cairn\n');
  const ok = await run(
    helloAgent((_a, ctx) => ({
      async *readData(): AsyncIterable<DataChunk> {
        const b = ctx.chunkBuffer(content.length);
        content.copy(b);
        yield b;
      },
    })),
  );
  assert.deepEqual(failing(ok), [], 'a chunk buffer used by the rules passes');
  const r = await run(
    helloAgent((_a, ctx) => ({
      async *readData(): AsyncIterable<DataChunk> {
        // Breaks the rule: one chunk buffer yielded as two chunks.
        const b = ctx.chunkBuffer(content.length);
        content.copy(b);
        yield b.subarray(0, 6);
        yield b.subarray(6);
      },
    })),
  );
  assert.ok(failing(r).includes('restore-round-trip'), JSON.stringify(r.checks, null, 1));
});
