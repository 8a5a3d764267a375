/**
 * The backup job's file-row assembler: on the main thread for a job's first
 * files, then — once the job proves big — in a thread of its own
 * (file-assembler-thread.ts). A thread costs ≈ 21 MiB of RSS and a start-up,
 * worth it only past a few thousand files (a 4 GiB single-file backup must
 * stay under 256 MiB; a 100,000-file backup saves ≈ 2.3 s of main thread).
 * The switch happens at a file's attributes when no earlier row still waits
 * for a pack index, so each side sees whole files.
 */
import { StreamType, type AgentState } from '../../plugin-api/index.js';
import type { DataRecord, RecordLocation } from '../../sd/index.js';
import type { Catalog } from '../catalog/index.js';
import { FileAssembler } from './file-assembler.js';
import { FileAssemblerThread } from './file-assembler-thread.js';

/** Files assembled on the main thread before the rest moves to a thread. */
export const THREAD_AFTER_FILES = 5000;

type Records = Array<{ record: DataRecord; location: RecordLocation }>;

export class AdaptiveFileAssembler {
  readonly agentStates: Record<string, AgentState> = {};
  readonly volumes = new Set<string>();
  files = 0;
  private main: FileAssembler | null;
  private mainDone: Promise<void> | null = null;
  private thread: FileAssemblerThread | null = null;
  private seen = 0;

  constructor(catalog: Catalog, private readonly catalogFile: string, private readonly jobId: number, private readonly threadAfter = THREAD_AFTER_FILES) {
    this.main = new FileAssembler(catalog, jobId);
  }

  /** True once the rows go to the thread. */
  get threaded(): boolean {
    return this.thread !== null;
  }

  add(records: Records): void {
    if (this.thread) return this.thread.add(records);
    const main = this.main!;
    let start = 0;
    for (let i = 0; i < records.length; i++) {
      if (records[i].record.streamType !== StreamType.ATTRIBUTES) continue;
      if (++this.seen <= this.threadAfter) continue;
      main.add(records.slice(start, i));
      start = i;
      if (!main.settled) continue;
      this.main = null;
      this.mainDone = main.finish().then(() => this.take(main));
      this.mainDone.catch(() => undefined);
      this.thread = new FileAssemblerThread(this.catalogFile, this.jobId);
      this.thread.add(records.slice(i));
      return;
    }
    main.add(start === 0 ? records : records.slice(start));
  }

  async finish(): Promise<void> {
    if (this.main) {
      await this.main.finish();
      this.take(this.main);
      return;
    }
    await this.mainDone;
    await this.thread!.finish();
    this.take(this.thread!);
  }

  /** Stops the thread of a job that ends without finish(). */
  async close(): Promise<void> {
    await this.thread?.close();
  }

  private take(part: { files: number; agentStates: Record<string, AgentState>; volumes: Set<string> }): void {
    this.files += part.files;
    Object.assign(this.agentStates, part.agentStates);
    for (const v of part.volumes) this.volumes.add(v);
  }
}
