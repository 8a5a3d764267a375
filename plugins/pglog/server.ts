/**
 * The agent's SQL connection to the cluster (node-postgres): what the server
 * says about itself (version, system identifier, timeline, WAL segment size,
 * archiving settings, tablespaces), the WAL switch that ends every backup,
 * and the archiver's status for messages. One short-lived connection per job.
 */
import pg from 'pg';
import { CairnError } from '../../plugin-api/index.js';
import type { ConnectionOptions } from './manifest.js';

export interface ServerInfo {
  /** server_version_num, e.g. 150008. */
  versionNum: number;
  version: string;
  systemId: string;
  /** The timeline WAL is written on now. */
  timeline: number;
  segmentSize: number;
  inRecovery: boolean;
  walLevel: string;
  archiveMode: string;
  archiveCommand: string;
  /** archive_library (PostgreSQL ≥ 15), '' when unset or unknown. */
  archiveLibrary: string;
  tablespaces: Array<{ name: string; location: string }>;
}

export interface WalSwitch {
  /** Server time (ISO 8601) read just before the switch. */
  time: string;
  lsn: string;
  /** The segment the switch completed (the last one holding WAL up to `time`). */
  segment: string;
}

export interface ArchiverStatus {
  archivedCount: number;
  lastArchived: string | null;
  failedCount: number;
  lastFailed: string | null;
  lastFailedTime: string | null;
}

export class PgServer {
  private constructor(private readonly client: pg.Client) {}

  static async connect(c: ConnectionOptions, signal: AbortSignal): Promise<PgServer> {
    const client = new pg.Client({ host: c.host, port: c.port, user: c.user, database: c.database, application_name: 'cairn-pglog' });
    client.on('error', () => undefined); // a dropped connection surfaces on the next query
    const onAbort = () => void client.end().catch(() => undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await client.connect();
    } catch (err) {
      signal.removeEventListener('abort', onAbort);
      throw new CairnError('CAIRN_E_PGLOG_CONNECT', `cannot connect to PostgreSQL at ${c.host}:${c.port} as ${c.user} (database ${c.database}): ${(err as Error).message}`, { host: c.host, port: c.port, user: c.user }, { cause: err });
    }
    return new PgServer(client);
  }

  private async one<T>(sql: string): Promise<T> {
    const r = await this.client.query(sql);
    return r.rows[0] as T;
  }

  async info(): Promise<ServerInfo> {
    const v = await this.one<{ num: string; version: string; in_recovery: boolean }>(
      "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version, pg_is_in_recovery() AS in_recovery",
    );
    const versionNum = Number(v.num);
    if (versionNum < 120000) {
      throw new CairnError('CAIRN_E_PGLOG_SERVER_VERSION', `PostgreSQL ${v.version} is too old for the pglog agent: it needs 12 or newer (recovery.signal and restore_command in postgresql.conf)`, { version: v.version });
    }
    const settings = await this.client.query<{ name: string; setting: string; unit: string | null }>(
      "SELECT name, setting, unit FROM pg_settings WHERE name IN ('wal_segment_size', 'wal_level', 'archive_mode', 'archive_command', 'archive_library')",
    );
    const s = new Map(settings.rows.map((r) => [r.name, r]));
    const seg = s.get('wal_segment_size')!;
    const segmentSize = Number(seg.setting) * (seg.unit === '8kB' ? 8192 : 1);
    const sys = await this.one<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
    const tli = v.in_recovery ? null : await this.one<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f');
    const spc = await this.client.query<{ name: string; location: string }>(
      "SELECT spcname AS name, pg_tablespace_location(oid) AS location FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY spcname",
    );
    return {
      versionNum,
      version: v.version,
      systemId: sys.id,
      timeline: tli ? parseInt(tli.f.slice(0, 8), 16) : 0,
      segmentSize,
      inRecovery: v.in_recovery,
      walLevel: s.get('wal_level')?.setting ?? '',
      archiveMode: s.get('archive_mode')?.setting ?? '',
      archiveCommand: s.get('archive_command')?.setting ?? '',
      archiveLibrary: s.get('archive_library')?.setting ?? '',
      tablespaces: spc.rows,
    };
  }

  /** Server time now (ISO 8601). */
  async now(): Promise<string> {
    const r = await this.one<{ t: Date }>('SELECT clock_timestamp() AS t');
    return r.t.toISOString();
  }

  /**
   * Forces a WAL switch so the latest commits land in a completed segment the
   * archiver ships. With no WAL written since the last switch the server
   * does nothing and the segment named is the one completed before.
   */
  async switchWal(): Promise<WalSwitch> {
    const time = await this.now();
    const r = await this.one<{ lsn: string; segment: string }>('SELECT s.lsn::text AS lsn, pg_walfile_name(s.lsn) AS segment FROM (SELECT pg_switch_wal() AS lsn) s');
    return { time, lsn: r.lsn, segment: r.segment };
  }

  async archiver(): Promise<ArchiverStatus> {
    const r = await this.one<{ archived_count: string; last_archived_wal: string | null; failed_count: string; last_failed_wal: string | null; last_failed_time: Date | null }>(
      'SELECT archived_count, last_archived_wal, failed_count, last_failed_wal, last_failed_time FROM pg_stat_archiver',
    );
    return {
      archivedCount: Number(r.archived_count),
      lastArchived: r.last_archived_wal,
      failedCount: Number(r.failed_count),
      lastFailed: r.last_failed_wal,
      lastFailedTime: r.last_failed_time ? r.last_failed_time.toISOString() : null,
    };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
