/**
 * Session ids: unique on one SD, from a counter persisted in the device's
 * state directory (.cairn-sd-state.json), written atomically (temp file,
 * fsync, rename, directory fsync) before an id is handed out.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { syncDirectory } from '../device/file-device.js';

const STATE_FILE = '.cairn-sd-state.json';

export class SessionCounter {
  private next: number | null = null;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly dir: string | null) {}

  /** Allocates the next session id (1, 2, …), durable before it returns. */
  allocate(): Promise<number> {
    const p = this.chain.then(() => this.allocateNow());
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async allocateNow(): Promise<number> {
    if (this.next === null) this.next = await this.load();
    const id = this.next;
    this.next = id + 1;
    if (this.dir) {
      const file = path.join(this.dir, STATE_FILE);
      const tmp = `${file}.tmp`;
      const fh = await fs.open(tmp, 'w');
      try {
        await fh.writeFile(JSON.stringify({ nextSessionId: this.next }));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, file);
      await syncDirectory(this.dir);
    }
    return id;
  }

  private async load(): Promise<number> {
    if (!this.dir) return 1;
    await fs.mkdir(this.dir, { recursive: true });
    try {
      const st = JSON.parse(await fs.readFile(path.join(this.dir, STATE_FILE), 'utf8')) as { nextSessionId?: number };
      return Number.isInteger(st.nextSessionId) && (st.nextSessionId as number) > 0 ? (st.nextSessionId as number) : 1;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 1;
      throw err;
    }
  }
}
