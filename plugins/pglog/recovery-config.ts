/**
 * The recovery settings a restored cluster starts with (PostgreSQL ≥ 12):
 * `recovery.signal` in the data directory, and lines appended to
 * postgresql.auto.conf — restore_command copying from the restored WAL
 * folder, the recovery target when one was asked for, and archive_mode off
 * so the copy never archives into the original cluster's spool.
 */

/** A word for sh, in single quotes. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A string value for postgresql.conf: single quotes doubled, backslashes escaped. */
export function confQuote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/**
 * A time as recovery_target_time takes it: PostgreSQL checks that setting
 * before time-zone abbreviations are loaded, so ISO's `Z` is refused; a
 * numeric offset is not (`2026-12-06 05:19:36.084+00`).
 */
export function pgTimestamp(d: Date): string {
  return `${d.toISOString().replace('T', ' ').replace('Z', '')}+00`;
}

/** restore_command for WAL restored into `walDir`: `%` in the path is doubled (PostgreSQL substitutes %f, %p). */
export function restoreCommand(walDir: string): string {
  return `cp ${shellQuote(`${walDir.replace(/%/g, '%%')}/%f`)} "%p"`;
}

export interface RecoverySettings {
  walDir: string;
  /** Recover up to this time, then promote; absent: to the end of the restored WAL. */
  target?: Date;
  /** What the lines say about where they come from. */
  note: string;
}

/** The lines appended to postgresql.auto.conf (the last setting of a name wins there). */
export function recoveryConf(s: RecoverySettings): string {
  const lines = [
    '',
    `# ${s.note}`,
    `restore_command = ${confQuote(restoreCommand(s.walDir))}`,
  ];
  if (s.target) {
    lines.push(`recovery_target_time = ${confQuote(pgTimestamp(s.target))}`, `recovery_target_action = 'promote'`);
  }
  lines.push(
    "# A restored copy must not archive into the original cluster's WAL spool; set archive_mode again once the copy is where it belongs.",
    `archive_mode = 'off'`,
    '',
  );
  return lines.join('\n');
}
