/**
 * Heartbeats on the SD's connections judge the peer, not ourselves
 * (protocol.md §1 Heartbeats). Regression for the "restore of an OK job
 * exits 3, files not found on the volumes" failures of
 * test/e2e/daemons-faults.test.ts under load: an FD that is alive (its
 * heartbeats go out) but slow to take a read session's data (its disk) was
 * declared dead by the SD after twice the heartbeat interval, and the read
 * session was cut short. Same for the other direction: an SD that is slow
 * itself (its disk) must not blame the FD whose data it has not read yet.
 *
 * Real TCP on loopback (kernel buffers fill, write() blocks: back-pressure as
 * between daemons), a 100 ms heartbeat on the FD connections (the SD counts
 * the FD gone after 300 ms of silence) and pauses ten times that long. The
 * pauses only make the old fault certain; the outcome asserted does not
 * depend on timing. The Director connection is a local one (no heartbeats):
 * it is not what these tests are about.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Bootstrap, DataRecord, SessionCloseReport } from '../api.js';
import type { Device, VolumeHandle } from '../device/device.js';
import { createDevice } from '../device/registry.js';
import { FileDevice } from '../device/file-device.js';
import { SdDirectorClient } from './director-client.js';
import { SdSessionClient } from './session-client.js';
import { StorageDaemon } from './storage-daemon.js';
import { MemoryCatalog } from '../testing/memory-catalog.js';
import { job } from '../testing/harness.js';
import type { SdPeer } from './sd-connection.js';

const HEARTBEAT_MS = 100;
const PAUSE_MS = 3000; // ten times the 300 ms after which a silent peer is gone
const BS = 64 * 1024;
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Rig {
  sd: StorageDaemon;
  director: SdDirectorClient;
  /** An FD connection authenticated for the session key id `keyId`, sending heartbeats. */
  fd(keyId: string): Promise<SdSessionClient>;
}

/** An SD on a TCP port: the first connection is the Director's (trusted, as in local mode), every later one an FD's. */
async function rig(t: TestContext, device: Device): Promise<Rig> {
  const sd = new StorageDaemon({ devices: [{ name: 'default', device, blockSize: BS }], catalog: new MemoryCatalog(), heartbeatMs: HEARTBEAT_MS });
  let nextPeer: SdPeer | null = null;
  const server = net.createServer((sock) => void sd.handleConnection(sock, nextPeer));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const connect = async (): Promise<net.Socket> => {
    const s = net.connect(port, '127.0.0.1');
    await new Promise<void>((r, j) => s.once('connect', r).once('error', j));
    return s;
  };
  const director = new SdDirectorClient(await connect());
  t.after(async () => {
    await director.close().catch(() => undefined);
    await sd.close();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return {
    sd,
    director,
    fd: async (keyId) => {
      nextPeer = { role: 'fd', name: keyId };
      return new SdSessionClient(await connect(), { heartbeatMs: HEARTBEAT_MS });
    },
  };
}

function records(count: number, size: number): DataRecord[] {
  const out: DataRecord[] = [];
  for (let i = 1; i <= count; i++) {
    const payload = Buffer.alloc(size, i & 0xff);
    payload.writeUInt32BE(i, 0);
    out.push({ fileIndex: i, streamType: 2, streamNo: 0, payload });
  }
  return out;
}

async function backup(r: Rig, jobId: number, recs: DataRecord[]): Promise<SessionCloseReport> {
  const grant = await r.director.openAppendSession(job(jobId));
  const s = await r.fd(grant.keyId);
  await s.appendOpen(grant.ticket);
  for (const rec of recs) await s.writeRecord(rec);
  await s.appendEnd();
  const report = await s.appendClose();
  await s.close();
  return report;
}

function bootstrapOf(report: SessionCloseReport): Bootstrap {
  return { entries: report.ranges.map((x) => ({ volume: x.volume, sessionId: x.sessionId, startFile: x.startFile, startBlock: x.startBlock, endFile: x.endFile, endBlock: x.endBlock })) };
}

function tempDir(t: TestContext): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-sd-live-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

test('a read session whose FD takes its data slowly (alive, heartbeats going out) is not cut short', async (t) => {
  const r = await rig(t, createDevice({ type: 'file', dir: tempDir(t) }));
  const recs = records(600, 64 * 1024); // ~39 MB: far more than the loopback buffers hold
  const report = await backup(r, 1, recs);

  const grant = await r.director.openReadSession(bootstrapOf(report));
  const s = await r.fd(grant.keyId);
  await s.readOpen(grant.ticket);
  const got: number[] = [];
  let paused = false;
  for await (const it of s.readData()) {
    if (it.kind !== 'record') continue;
    got.push(it.record.fileIndex);
    assert.equal(Buffer.from(it.record.payload).readUInt32BE(0), it.record.fileIndex);
    // The FD's disk stalls: it takes nothing for a while; its event loop (and heartbeats) run on.
    if (got.length === 5 && !paused) {
      paused = true;
      await wait(PAUSE_MS);
    }
  }
  await s.readClose();
  await s.close();
  assert.equal(got.length, recs.length, 'every record of the session came back');
  assert.deepEqual(got, recs.map((x) => x.fileIndex));
});

/** A file device whose writes stall once, for `ms`, when `armed` is set: the SD's own disk is slow. */
function stallingDevice(dir: string, ms: number): Device & { armed: boolean; stalled: boolean } {
  const inner = new FileDevice({ type: 'file', dir });
  const wrap = (h: VolumeHandle): VolumeHandle => {
    const writev = h.writev.bind(h);
    return Object.assign(Object.create(h) as VolumeHandle, {
      writev: async (blocks: Buffer[], position: number): Promise<void> => {
        if (dev.armed && !dev.stalled) {
          dev.stalled = true;
          await wait(ms);
        }
        return writev(blocks, position);
      },
    });
  };
  const dev = Object.assign(Object.create(inner) as Device, {
    armed: false,
    stalled: false,
    create: async (v: string) => wrap(await inner.create(v)),
    open: async (v: string, mode: 'read' | 'append') => wrap(await inner.open(v, mode)),
  });
  return dev;
}

test('an SD whose own disk stalls does not declare the FD that keeps sending gone', async (t) => {
  const dev = stallingDevice(tempDir(t), PAUSE_MS);
  const r = await rig(t, dev);
  const recs = records(400, 64 * 1024);
  const grant = await r.director.openAppendSession(job(1));
  const s = await r.fd(grant.keyId);
  await s.appendOpen(grant.ticket);
  for (const [i, rec] of recs.entries()) {
    if (i === 50) dev.armed = true;
    await s.writeRecord(rec);
  }
  await s.appendEnd();
  const report = await s.appendClose();
  await s.close();
  assert.ok(dev.stalled, 'the device did stall');
  assert.equal(report.records, recs.length);
});
