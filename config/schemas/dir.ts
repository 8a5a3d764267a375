/**
 * Schema of cairn-dir.yaml, the Director's configuration: the Director
 * itself, the consoles that may log in, clients (File Daemons), storages
 * (Storage Daemons), pools, filesets, schedules, jobs and messages.
 * Filesets follow core/fileset.ts (docs/fileset.md) key for key.
 */
import type { JsonSchema } from '../schema-validator.js';
import { LOOPBACK_ALLOW, heartbeatSeconds, mapping, maxConcurrentJobs, name, nonEmptyString, port, prop, ref, rootSchema, sharedDefs, stringList, tlsProp, metricsProp } from './common.js';

const relPath = (what: string, dflt?: string): JsonSchema => prop('Path', `${what}`, dflt === undefined ? nonEmptyString : { ...nonEmptyString, default: dflt });

const duration: JsonSchema = { type: 'string', pattern: '^([0-9]+[ymwdh])+$', patternErrorMessage: 'a duration like 30d, 6m, 1y, 2w, 12h or 1y6m (m = months)' };

const keepCount: JsonSchema = { type: 'integer', minimum: -1 };
const keepRules: JsonSchema = mapping({
  last: prop('Keep last', 'The N newest jobs (-1: all).', keepCount),
  hourly: prop('Keep hourly', 'The newest job of each of the last N hours that have one (-1: all).', keepCount),
  daily: prop('Keep daily', 'The newest job of each of the last N days that have one.', keepCount),
  weekly: prop('Keep weekly', 'The newest job of each of the last N ISO weeks that have one.', keepCount),
  monthly: prop('Keep monthly', 'The newest job of each of the last N months that have one.', keepCount),
  yearly: prop('Keep yearly', 'The newest job of each of the last N years that have one.', keepCount),
  within: prop('Keep within', 'Every job newer than this before the newest job (e.g. 14d).', duration),
  withinHourly: prop('Keep hourly within', 'The newest job of each hour within this span before the newest job.', duration),
  withinDaily: prop('Keep daily within', 'The newest job of each day within this span.', duration),
  withinWeekly: prop('Keep weekly within', 'The newest job of each ISO week within this span.', duration),
  withinMonthly: prop('Keep monthly within', 'The newest job of each month within this span.', duration),
  withinYearly: prop('Keep yearly within', 'The newest job of each year within this span.', duration),
});

const catalog: JsonSchema = {
  title: 'Catalog',
  description: 'Where the Director keeps its catalog (jobs, files, volumes): SQLite (default) or PostgreSQL.',
  errorMessage: 'a catalog: { engine: sqlite, path: PATH } or { engine: postgres, database: D, user: U, … }',
  oneOf: [
    mapping({
      engine: prop('Engine', 'sqlite: one database file on this host.', { const: 'sqlite' }),
      path: relPath('The SQLite database file; relative paths are relative to director.workingDirectory.', 'catalog.db'),
    }, ['engine']),
    mapping({
      engine: prop('Engine', 'postgres: a PostgreSQL database.', { const: 'postgres' }),
      socketDir: prop('Socket directory', 'Connect through the Unix socket in this directory (e.g. /var/run/postgresql) instead of TCP.', nonEmptyString),
      host: prop('Host', 'The PostgreSQL server\'s host name or address (TCP).', nonEmptyString),
      port: prop('Port', 'The PostgreSQL server\'s port.', { ...port, default: 5432 }),
      database: prop('Database', 'The database name.', nonEmptyString),
      user: prop('User', 'The role to log in as.', nonEmptyString),
      password: prop('Password', 'The role\'s password; omit for peer or trust authentication.', ref('secret')),
      binDir: prop('Tools folder', 'Folder holding pg_dump and pg_restore, used by catalog jobs and `cairn catalog-restore`. Default: PATH. They must be of the server\'s major version or newer.', nonEmptyString),
    }, ['engine', 'database', 'user']),
  ],
};

const runScript: JsonSchema = {
  title: 'Command',
  description: 'A command run before or after the job.',
  ...mapping({
    command: prop('Command', 'The program and its arguments (argv; no shell). On a client, argv[0] must be in the FD\'s commands.allow.', { type: 'array', minItems: 1, items: nonEmptyString }),
    on: prop('Runs on', 'director: on the Director\'s host; client: on the job\'s File Daemon.', { enum: ['director', 'client'], default: 'client' }),
    onFailure: prop('On failure', 'fail: a non-zero exit fails the job (before: the job does not run); warn: the job goes on and ends OK with warnings.', { enum: ['fail', 'warn'], default: 'fail' }),
  }, ['command']),
};

const agentLine: JsonSchema = {
  title: 'Agent line',
  description: 'One agent and what it selects.',
  ...mapping({
    agent: prop('Agent', 'A bundled agent name (fs), an npm package name or a path to the agent module.', nonEmptyString),
    include: prop('Include', 'What the agent backs up (for fs: absolute paths).', { ...stringList, default: [] }),
    exclude: prop('Exclude', 'Glob patterns left out.', { ...stringList, default: [] }),
    options: prop('Agent options', 'Options for the agent, checked against the agent\'s own option schema by the File Daemon.', { type: 'object', default: {} }),
  }, ['agent']),
};

const fileset: JsonSchema = {
  title: 'Fileset',
  description: 'What a job backs up (docs/fileset.md). Give include paths (one fs agent line), agent lines, or both.',
  ...mapping({
    name: name('fileset'),
    include: prop('Include', 'Shorthand for one fs agent line: absolute paths to back up.', { ...stringList, default: [] }),
    exclude: prop('Exclude', 'Glob patterns the shorthand fs line leaves out (e.g. \'*.tmp\', \'/home/*/.cache\'); needs include.', { ...stringList, default: [] }),
    options: prop('Options', 'Compression of the data streams.', {
      ...mapping({
        compression: prop('Compression', 'zstd or none.', { enum: ['zstd', 'none'], default: 'zstd' }),
        level: prop('Compression level', 'zstd level; 1 is the fast end.', { type: 'integer', minimum: 1, maximum: 19, default: 1 }),
      }),
      default: {},
    }),
    agents: prop('Agent lines', 'Agents and what each selects.', { type: 'array', items: ref('agentLine'), default: [] }),
  }, ['name']),
};

const director = mapping({
  name: name('Director'),
  listen: prop('Listen', 'Where consoles connect.', ref('listen')),
  workingDirectory: prop('Working directory', 'Pid and lock files, spool and the default catalog and log location. Relative paths are relative to this file\'s folder.', nonEmptyString),
  catalog: prop('Catalog', 'The catalog database. Default: SQLite catalog.db in the working directory.', { ...ref('catalog'), default: { engine: 'sqlite', path: 'catalog.db' } }),
  maxConcurrentJobs: maxConcurrentJobs(10, 'the Director'),
  heartbeatSeconds,
  tls: tlsProp('the console connection'),
  bootstrapDirectory: relPath('Where a bootstrap file (docs/bootstrap.md) is written after every successful backup job, one per client and job name; relative paths are relative to director.workingDirectory.', 'bootstrap'),
  metrics: metricsProp('the Director: jobs running and finished, each configured job\'s last run and last success, volumes by pool and state'),
}, ['name', 'listen', 'workingDirectory']);

const consoleEntry = mapping({
  name: name('console'),
  password: prop('Password', 'The secret the console presents (its director.password).', ref('secret')),
  allow: prop('Allowed addresses', 'Addresses and networks the console may connect from. Default: loopback only.', { type: 'array', minItems: 1, items: ref('cidr'), default: LOOPBACK_ALLOW }),
}, ['name', 'password']);

const client = mapping({
  name: name('client (File Daemon)'),
  address: prop('Address', 'Host name or address of the File Daemon.', nonEmptyString),
  port: prop('Port', 'The File Daemon\'s port (its fd.listen.port).', port),
  password: prop('Password', 'The secret shared with the File Daemon (its directors[].password).', ref('secret')),
  maxConcurrentJobs: maxConcurrentJobs(2, 'the Director sends to this client'),
  tls: tlsProp('the connection to this client'),
  jobRetention: prop('Job retention', 'This client\'s jobs expire this long after they ran; overrides its pools\' jobRetention.', duration),
  fileRetention: prop('File retention', 'This client\'s file records expire this long after the job ran; overrides its pools\' fileRetention.', duration),
}, ['name', 'address', 'port', 'password']);

const storage = mapping({
  name: name('storage (Storage Daemon)'),
  address: prop('Address', 'Host name or address of the Storage Daemon, as the File Daemons reach it too. Give address and port, or command.', nonEmptyString),
  port: prop('Port', 'The Storage Daemon\'s port (its sd.listen.port).', port),
  command: prop('Command', 'Instead of address and port: a command (argv, no shell) whose stdin/stdout carry the connection, e.g. [ssh, -T, backup@vault, cairn-sd, --stdio, --config, /etc/cairn/cairn-sd.yaml]. File Daemons then reach this storage by their own storages[] entry of the same name.', { type: 'array', minItems: 1, items: nonEmptyString }),
  password: prop('Password', 'The secret shared with the Storage Daemon (its directors[].password).', ref('secret')),
  device: prop('Device', 'The device on the Storage Daemon to use (its devices[].name).', nonEmptyString),
  mediaType: prop('Media type', 'The media type of that device; volumes are used only on devices of their media type.', nonEmptyString),
  maxConcurrentJobs: maxConcurrentJobs(10, 'the Director sends to this storage'),
  tls: tlsProp('the connection to this storage'),
}, ['name', 'password', 'device', 'mediaType']);

const pool = mapping({
  name: name('pool'),
  maxVolumeBytes: prop('Maximum volume size (bytes)', 'A volume is marked Full when it reaches this size. Default: no limit (the device\'s, if any).', { type: 'integer', minimum: 1 }),
  maxVolumeJobs: prop('Maximum jobs per volume', 'A volume is marked Used after this many jobs. Default: no limit.', { type: 'integer', minimum: 1 }),
  labelFormat: prop('Label format', 'How new volumes are named: text with ${Pool}, ${Year}, ${Month}, ${Day}, ${Hour} and ${Counter} or ${Counter:N} (zero-padded to N digits), e.g. Daily-${Year}${Month}-${Counter:3}. Must contain ${Counter}.', nonEmptyString),
  mediaType: prop('Media type', 'The media type of the pool\'s volumes (default: that of the storage a job writes to).', nonEmptyString),
  volumeUseDuration: prop('Volume use duration', 'A volume takes no new job once this long has passed since its first write (it becomes Used), e.g. 7d.', duration),
  recyclePool: prop('Recycle pool', 'The pool a purged volume of this pool moves to (a pools[].name). Default: it stays in this pool.', nonEmptyString),
  jobRetention: prop('Job retention', 'Jobs expire this long after they ran (e.g. 30d, 6m, 1y); a prune then removes them, unless a kept job needs them. Default: kept forever.', duration),
  fileRetention: prop('File retention', 'File records expire this long after the job ran; the job stays listed but is no longer restorable by selection. Default: as long as the job.', duration),
  volumeRetention: prop('Volume retention', 'A volume is not recycled before this long after its last write, even once its jobs are gone.', duration),
  keep: prop('Keep rules', 'restic-style rules that keep jobs beyond the job retention: a job either keeps is kept.', keepRules),
  autoPrune: prop('Autoprune', 'Prune after each job.', { type: 'boolean', default: true }),
  recycle: prop('Recycle', 'Truncate purged volumes and use them again (file volumes return their space at once).', { type: 'boolean', default: true }),
}, ['name']);

const schedule = mapping({
  name: name('schedule'),
  run: prop('Run times', 'When jobs with this schedule run, e.g. \'daily at 23:05\', \'Mon-Fri 01:00 level=incremental\' (the schedule grammar is in the Director\'s docs).', { type: 'array', minItems: 1, items: nonEmptyString }),
}, ['name', 'run']);

const job = mapping({
  name: name('job'),
  type: prop('Type', 'What the job does. backup: the fileset of a client. catalog: the Director\'s own catalog (a consistent SQLite copy or pg_dump), its config, its bootstrap files and an emergency-restore summary, staged on the Director\'s host and read by `client`, which must be a File Daemon on that host (docs/cold-start.md); always a Full (level is ignored); no fileset.', { enum: ['backup', 'catalog'], default: 'backup' }),
  client: prop('Client', 'The client to back up (a clients[].name). For a catalog job: the File Daemon running on the Director\'s host.', nonEmptyString),
  fileset: prop('Fileset', 'What to back up (a filesets[].name). Required for a backup job; a catalog job has none.', nonEmptyString),
  copyTo: prop('Copy to', 'Catalog jobs: a folder on the Director\'s host (another disk, a mounted share) that also receives the staged files after a successful job, so the catalog can be put back without reading any volume.', nonEmptyString),
  storage: prop('Storage', 'Where to write (a storages[].name).', nonEmptyString),
  pool: prop('Pool', 'Which pool\'s volumes to write (a pools[].name).', nonEmptyString),
  level: prop('Level', 'The default level; a schedule line may override it. An incremental without a prior full runs as full.', { enum: ['full', 'incremental', 'differential'], default: 'incremental' }),
  schedule: prop('Schedule', 'When the job runs by itself (a schedules[].name). Without it the job runs only when started by hand.', nonEmptyString),
  maxRetries: prop('Retries', 'How many times a failed job is retried.', { type: 'integer', minimum: 0, default: 0 }),
  retryDelaySeconds: prop('Retry delay (seconds)', 'Wait between retries.', { type: 'integer', minimum: 0, default: 300 }),
  runBefore: prop('Run before', 'Commands run before the job, in order.', { type: 'array', items: ref('runScript'), default: [] }),
  runAfter: prop('Run after', 'Commands run after the job, in order, whatever its outcome.', { type: 'array', items: ref('runScript'), default: [] }),
  mirrorDevice: prop('Mirror device', 'Another device of the same Storage Daemon (its devices[].name, with a media type of its own) that receives a mirrored copy of every backup of this job, written at the same time; restore from it with `cairn restore … --copy 1` when the primary volumes are lost.', nonEmptyString),
  maxBandwidth: prop('Maximum bandwidth (bytes/s)', 'The job sends at most this many bytes a second from the File Daemon to the Storage Daemon (compressed bytes, averaged over a quarter second). Default: no limit.', { type: 'integer', minimum: 1024 }),
  agentOptions: prop('Agent options', 'Per-agent option overrides for this job, by agent name (e.g. pipe: { files: [...] }); they override the fileset lines\' options and are checked by the agent\'s schema on the FD. A value { file: PATH } or { env: NAME } is a secret resolved on the FD.', {
    type: 'object',
    additionalProperties: { title: 'Options', description: 'Options of this agent for this job.', type: 'object' },
    default: {},
  }),
}, ['name', 'client', 'storage', 'pool']);

const notify = mapping({
  command: prop('Command', 'The program and its arguments (argv; no shell unless it names one), run on the Director\'s host, e.g. [/usr/sbin/sendmail, -t] behind a script, or [/usr/bin/curl, -sf, --data-binary, @-, URL].', { type: 'array', minItems: 1, items: nonEmptyString }),
  on: prop('On', 'The job statuses that trigger it.', { type: 'array', minItems: 1, items: { enum: ['ok', 'warning', 'error', 'cancelled'] }, default: ['error'] }),
  types: prop('Job types', 'The job types it is for.', { type: 'array', minItems: 1, items: { enum: ['backup', 'restore', 'verify'] }, default: ['backup', 'restore', 'verify'] }),
}, ['command']);

const list = (title: string, description: string, item: JsonSchema, min: number): JsonSchema =>
  prop(title, description, min ? { type: 'array', minItems: min, items: item } : { type: 'array', items: item, default: [] });

export const dirSchema: JsonSchema = rootSchema('cairn-dir', 'Cairn Director configuration (cairn-dir.yaml)', 'The Director: what to back up, from where, to where and when.', mapping({
  director: prop('Director', 'The Director itself.', director),
  consoles: list('Consoles', 'Who may log in with the cairn console.', consoleEntry, 1),
  clients: list('Clients', 'File Daemons the Director backs up.', client, 0),
  storages: list('Storages', 'Storage Daemon devices the Director writes to: each entry is one device of an SD (two entries may name two devices of one SD).', storage, 0),
  pools: list('Pools', 'Sets of volumes jobs write to.', pool, 0),
  filesets: list('Filesets', 'What jobs back up.', ref('fileset'), 0),
  schedules: list('Schedules', 'When jobs run by themselves.', schedule, 0),
  jobs: list('Jobs', 'Backups: client, fileset, storage, pool and schedule together; and catalog jobs (type: catalog).', job, 0),
  messages: prop('Messages', 'Where the Director logs.', {
    ...mapping({
      logFile: prop('Log file', 'The Director\'s log file (JSON lines). Default: cairn-dir.log in the working directory; relative paths are relative to it.', nonEmptyString),
      jobLogDays: prop('Job log retention (days)', 'How long job logs are kept in the catalog. Default: as long as the job\'s record.', { type: 'integer', minimum: 1 }),
      notify: prop('Notifications', 'Commands the Director runs when a job ends (mail, a chat webhook…): the job report as JSON on stdin, CAIRN_JOB_* in the environment (docs/config.md, messages).', { type: 'array', items: notify, default: [] }),
    }),
    default: {},
  }),
}, ['director', 'consoles']), { ...sharedDefs, catalog, runScript, fileset, agentLine });
