/**
 * The agent's durable position and the rules that decide whether a chain can
 * continue: the state an Incremental or Differential starts from, checked
 * against the server (same cluster, same timeline) and against the spool
 * (every segment since the last one shipped present). Pure functions: the
 * backup session asks, these answer with the reason when the answer is no.
 */
import type { AgentState, Level } from '../../plugin-api/index.js';
import { nextSegment, segmentRange } from './wal-segment.js';
import type { PglogErrorCode } from './errors.js';

/** The agent state (AgentState JSON) a pglog backup ends with. */
export interface PglogState {
  v: 1;
  /** pg_control's system identifier (a decimal string): which cluster the chain belongs to. */
  systemId: string;
  timeline: number;
  segmentSize: number;
  /** The last WAL segment this job shipped: the next Incremental starts after it. */
  lastSegment: string;
  /** The LSN the job's final WAL switch returned (the end of what it shipped; informational). */
  lastLsn: string;
  /** Server time (ISO 8601) taken just before the job's final WAL switch: commits up to it are shipped. */
  walEnd: string;
  /** The Full the chain hangs on; kept through Incrementals and Differentials (spool cleanup keeps what follows it). */
  full: { jobId: number; startSegment: string; lastSegment: string };
}

/** What the server says about itself, for the checks. */
export interface ServerPosition {
  systemId: string;
  timeline: number;
  segmentSize: number;
}

export interface ChainBreak {
  code: PglogErrorCode;
  message: string;
  fields: Record<string, string | number | undefined>;
}

/** The state of a base job, or null when it is not a pglog state of this format. */
export function readState(raw: AgentState): PglogState | null {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const s = raw as Record<string, AgentState>;
  const full = s.full as Record<string, AgentState> | null;
  if (s.v !== 1 || typeof s.systemId !== 'string' || typeof s.timeline !== 'number' || typeof s.segmentSize !== 'number') return null;
  if (typeof s.lastSegment !== 'string' || typeof s.walEnd !== 'string' || !full || typeof full !== 'object') return null;
  if (typeof full.jobId !== 'number' || typeof full.startSegment !== 'string' || typeof full.lastSegment !== 'string') return null;
  return raw as unknown as PglogState;
}

/**
 * Why an Incremental or Differential cannot continue the chain from `state`
 * on this server, or null when it can. Checked before any WAL is read.
 */
export function chainBreak(level: Level, state: PglogState | null, server: ServerPosition, baseJobId?: number): ChainBreak | null {
  if (!state) {
    return {
      code: 'CAIRN_E_PGLOG_NO_BASE_STATE',
      message: `the ${level}'s base job${baseJobId ? ` ${baseJobId}` : ''} left no pglog position for this agent line, so the WAL to ship is unknown; run a Full`,
      fields: { baseJobId },
    };
  }
  if (state.systemId !== server.systemId) {
    return {
      code: 'CAIRN_E_PGLOG_CLUSTER_CHANGED',
      message: `the server's system identifier is ${server.systemId} but the chain was taken from cluster ${state.systemId} (a new initdb or another cluster at this address); run a Full`,
      fields: { systemId: server.systemId, chainSystemId: state.systemId },
    };
  }
  if (state.segmentSize !== server.segmentSize) {
    return {
      code: 'CAIRN_E_PGLOG_CLUSTER_CHANGED',
      message: `wal_segment_size is ${server.segmentSize} bytes but the chain was taken with ${state.segmentSize}; run a Full`,
      fields: { segmentSize: server.segmentSize, chainSegmentSize: state.segmentSize },
    };
  }
  if (state.timeline !== server.timeline) {
    return {
      code: 'CAIRN_E_PGLOG_TIMELINE_SWITCH',
      message: `the cluster is on timeline ${server.timeline} but the chain's last backup${baseJobId ? ` (job ${baseJobId})` : ''} shipped timeline ${state.timeline} up to segment ${state.lastSegment}: a promotion or point-in-time recovery started a new timeline since, and WAL of the new timeline does not continue that base; run a Full`,
      fields: { timeline: server.timeline, chainTimeline: state.timeline, lastSegment: state.lastSegment },
    };
  }
  return null;
}

/** The segments from `first` to `last` inclusive and the first of them absent from `present`. */
export function walToShip(first: string, last: string, present: ReadonlySet<string>, segmentSize: number): { segments: string[]; missing: string | null } {
  const segments = segmentRange(first, last, segmentSize);
  return { segments, missing: segments.find((s) => !present.has(s)) ?? null };
}

/** The first segment an Incremental or Differential ships: the one after the base's last. */
export function firstToShip(state: PglogState): string {
  return nextSegment(state.lastSegment, state.segmentSize);
}

export function gapBreak(level: Level, missing: string, first: string, last: string, spool: string, state: PglogState | null, baseJobId?: number): ChainBreak {
  const after = state ? ` (the chain${baseJobId ? ` up to job ${baseJobId}` : ''} ends at ${state.lastSegment})` : '';
  return {
    code: 'CAIRN_E_PGLOG_WAL_GAP',
    message: `WAL segment ${missing} is missing from the spool ${spool}: this ${level} must ship ${first} to ${last}${after}, and the chain cannot be replayed past a missing segment; run a Full (or set the option onGap: full)`,
    fields: { segment: missing, first, last, spool },
  };
}
