/**
 * An estimate (Bacula's `estimate`): what a backup of the fileset at a
 * level would send — files and bytes — with nothing read and nothing sent.
 * Each agent line's agent answers its optional `estimate(job)` hook; an
 * agent without it is walked: prepareBackup, nextFile to the end (streams
 * counted by their declared size, else the file's size), endBackup, its
 * state thrown away, and `jobEnded('cancelled')` so it keeps nothing.
 */
import type { Logger } from 'pino';
import type { FileEntry, Level, PlatformFileServices } from '../plugin-api/index.js';
import type { AgentOptionOverrides } from './agent-options.js';
import { closeAgent } from './agent-process.js';
import type { BackupLine } from './backup-session.js';
import type { ChunkBuffers } from './chunk-buffers.js';
import { createLineAgent } from './line-agent.js';

export interface EstimateLine {
  key: string;
  agent: string;
  files: number;
  bytes: number;
  /** `estimate`: the agent's own hook answered; `walk`: its files were enumerated. */
  method: 'estimate' | 'walk';
}

export interface EstimateResult {
  files: number;
  bytes: number;
  lines: EstimateLine[];
}

export interface EstimateArgs {
  jobId: number;
  jobName: string;
  level: Level;
  lines: BackupLine[];
  logger: Logger;
  platform: PlatformFileServices;
  chunks: ChunkBuffers;
  controller: AbortController;
  overrides?: AgentOptionOverrides;
  allowCommands?: readonly string[];
}

/** Bytes a file would send: its streams' declared sizes, else (one stream, no size) the size in its stat. */
function entryBytes(e: FileEntry): number {
  if (e.kind !== 'file') return 0;
  let n = 0;
  for (const s of e.streams) n += s.size ?? (e.streams.length === 1 ? e.stat.size : 0);
  return n;
}

export async function runEstimateSession(a: EstimateArgs): Promise<EstimateResult> {
  const out: EstimateLine[] = [];
  for (const bl of a.lines) {
    const man = bl.loaded.module.manifest;
    const { runner, agent, options } = await createLineAgent(bl, { ...a, onMessage: () => undefined });
    const job = { jobId: a.jobId, jobName: a.jobName, level: a.level, base: bl.base.base, state: bl.base.state, options, include: bl.line.include, exclude: bl.line.exclude };
    try {
      if (agent.estimate) {
        const r = await runner.call('estimate', () => agent.estimate!(job));
        out.push({ key: bl.key, agent: man.name, files: r.files, bytes: r.bytes, method: 'estimate' });
        continue;
      }
      await runner.call('prepareBackup', () => agent.prepareBackup(job));
      let files = 0;
      let bytes = 0;
      for (;;) {
        const entry = await runner.call('nextFile', () => agent.nextFile());
        if (!entry) break;
        if (entry.kind === 'deleted') continue;
        files++;
        bytes += entryBytes(entry);
      }
      await runner.call('endBackup', () => agent.endBackup());
      out.push({ key: bl.key, agent: man.name, files, bytes, method: 'walk' });
    } finally {
      // Nothing of an estimate may be kept (a log agent's spooled segments, a snapshot): it ended, as if cancelled.
      if (agent.jobEnded) await runner.call('jobEnded', () => agent.jobEnded!('cancelled')).catch(() => undefined);
      await closeAgent(agent).catch(() => undefined); // an agent in a child process: the process ends
    }
  }
  return { files: out.reduce((n, l) => n + l.files, 0), bytes: out.reduce((n, l) => n + l.bytes, 0), lines: out };
}
