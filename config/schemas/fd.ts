/**
 * Schema of cairn-fd.yaml, the File Daemon's configuration: the daemon, the
 * Directors that may command it, and the local trust settings (which agents
 * and commands it runs) that no Director can override.
 */
import type { JsonSchema } from '../schema-validator.js';
import { heartbeatSeconds, mapping, maxConcurrentJobs, name, nonEmptyString, prop, ref, rootSchema, sharedDefs, tlsProp, metricsProp } from './common.js';

export const fdSchema: JsonSchema = rootSchema('cairn-fd', 'Cairn File Daemon configuration (cairn-fd.yaml)', 'The File Daemon (client): who may command it and which agents and commands it may run.', mapping({
  fd: prop('File Daemon', 'The File Daemon itself.', mapping({
    name: name('File Daemon (the Director\'s clients[].name)'),
    listen: prop('Listen', 'Where Directors connect.', ref('listen')),
    workingDirectory: prop('Working directory', 'Pid and lock files, agent state. Relative paths are relative to this file\'s folder.', nonEmptyString),
    maxConcurrentJobs: maxConcurrentJobs(2, 'this File Daemon'),
    heartbeatSeconds,
    tls: tlsProp('the Director connection'),
    metrics: metricsProp('this File Daemon'),
  }, ['name', 'listen', 'workingDirectory'])),
  directors: prop('Directors', 'Directors that may command this File Daemon.', { type: 'array', minItems: 1, items: ref('peer') }),
  plugins: prop('Plugins', 'Which agents beyond the bundled ones this File Daemon loads.', {
    ...mapping({
      directories: prop('Plugin directories', 'Folders agents may be loaded from (relative paths are relative to this file\'s folder).', { type: 'array', items: nonEmptyString, default: [] }),
      allow: prop('Allowed agents', 'Agent names or packages that may be loaded; bundled agents are always allowed.', { type: 'array', items: nonEmptyString, default: [] }),
      isolation: prop('Isolation', 'Where agents run: inprocess (in the File Daemon, fastest) or process (a child process of their own: a crash or hang fails only its job). Keys: default (agents from plugin directories or the allow-list; default process), bundled (fs, pipe; default inprocess), or an agent\'s name as filesets write it.', {
        type: 'object',
        additionalProperties: { title: 'Isolation mode', description: 'inprocess or process.', enum: ['inprocess', 'process'] },
        default: {},
      }),
    }),
    default: {},
  }),
  agents: prop('Agent defaults', 'Per-agent default options, by agent name (e.g. fs: { oneFileSystem: true }); a fileset\'s options override them.', {
    type: 'object',
    additionalProperties: { title: 'Agent options', description: 'Default options of this agent.', type: 'object' },
    default: {},
  }),
  storages: prop('Storages reached by command', 'Storage Daemons this File Daemon reaches by running a command of its own (stdio, e.g. over ssh) instead of the address a Director gives; by the Director\'s storage name. Only these commands are run for storage connections, whatever a Director says.', {
    type: 'array',
    items: mapping({
      name: prop('Storage name', 'The Director\'s storages[].name.', nonEmptyString),
      command: prop('Command', 'argv (no shell) whose stdin/stdout carry the connection, e.g. [/usr/bin/ssh, -T, backup@vault, cairn-sd, --stdio, --config, /etc/cairn/cairn-sd.yaml].', { type: 'array', minItems: 1, items: nonEmptyString }),
    }, ['name', 'command']),
    default: [],
  }),
  encryption: prop('Encryption', 'Client-side encryption of every backup of this client (docs/encryption.md). Absent: backups are not encrypted.', mapping({
    keyFile: prop('Key file', 'The client key (cairn key generate): private, or write-only (then this FD can back up but not restore without a private key given at restore time). Mode 0600. Relative to this file\'s folder.', nonEmptyString),
    masterKeys: prop('Master recovery keys', 'Public key files every job\'s data key is also wrapped to (relative to this file\'s folder).', { type: 'array', items: nonEmptyString, default: [] }),
    cipher: prop('Cipher', 'The bulk cipher.', { type: 'string', enum: ['aes-256-gcm', 'chacha20-poly1305'], default: 'aes-256-gcm' }),
  }, ['keyFile'])),
  commands: prop('Commands', 'Programs this File Daemon may run for runBefore/runAfter and the pipe agent.', {
    ...mapping({
      allow: prop('Allowed programs', 'Absolute paths of the programs (argv[0]) that may be run; nothing else runs.', { type: 'array', items: nonEmptyString, default: [] }),
    }),
    default: {},
  }),
}, ['fd', 'directors']), { ...sharedDefs });
