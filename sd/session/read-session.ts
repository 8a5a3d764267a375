/**
 * ReadSession: reads what a Bootstrap names, volume by volume, yielding only
 * the named session's records (and file indexes), bad-block notices and a
 * volume-end per volume. Labels are not handed to the client. On a tape
 * device each entry's tape is loaded (waiting for it with a mount request
 * when it is nowhere to be found) and the read positioned at its start file
 * and block with fsf/fsr: the blocks before it are never read.
 */
import type { Bootstrap, ReadItem } from '../api.js';
import type { Device } from '../device/device.js';
import { ScanBuffers, ScanState, scanVolume } from '../volume/volume-scanner.js';

export class ReadSession {
  state: 'ticketed' | 'open' | 'reading' | 'done' | 'closed' = 'ticketed';
  private iter: AsyncGenerator<ReadItem> | null = null;

  /** The volumes the bootstrap names: in use (never truncated) until the session is closed. */
  readonly volumes: ReadonlySet<string>;

  constructor(
    readonly bootstrap: Bootstrap,
    private readonly device: Device,
    /** Called once when the session closes (frees its device slot). */
    private readonly onClose: () => void = () => undefined,
  ) {
    this.volumes = new Set(bootstrap.entries.map((e) => e.volume));
  }

  /** The session's items, produced lazily (one device read at a time). */
  items(): AsyncGenerator<ReadItem> {
    this.iter ??= this.generate();
    return this.iter;
  }

  private async *generate(): AsyncGenerator<ReadItem> {
    // One reassembly state per session id, so a record split across a rollover comes back whole.
    const states = new Map<number, ScanState>();
    // One set of reusable read buffers for the whole session (its record items carry their release).
    const buffers = new ScanBuffers();
    for (const e of this.bootstrap.entries) {
      let state = states.get(e.sessionId);
      if (!state) states.set(e.sessionId, (state = new ScanState()));
      const dev = this.device;
      const handle = dev.access === 'sequential' ? await dev.open(e.volume, 'read', { wait: true, signal: this.abort.signal }) : await dev.open(e.volume, 'read');
      try {
        for await (const it of scanVolume(handle, { startFile: e.startFile, startBlock: e.startBlock, endBlock: e.endBlock, sessionId: e.sessionId, fileIndexes: e.fileIndexes, state, buffers })) {
          if (it.kind === 'record' || it.kind === 'bad-block' || it.kind === 'volume-end') yield it;
        }
      } finally {
        await handle.close();
      }
    }
  }

  /** Stops a wait for media when the session is closed. */
  private readonly abort = new AbortController();

  async close(): Promise<void> {
    this.state = 'closed';
    this.abort.abort(new Error('read session closed'));
    try {
      if (this.iter) await this.iter.return(undefined);
    } finally {
      this.onClose();
    }
  }
}
