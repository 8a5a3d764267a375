/**
 * Checks a schema cannot express, run on a schema-valid configuration:
 * names that must refer to a defined entry (a job's client, fileset,
 * storage, pool, schedule), duplicate names within a list, filesets that
 * select nothing, and exact IP/CIDR syntax in allow-lists.
 */
import { isIP } from 'node:net';
import { closest } from './did-you-mean.js';
import type { KeyPath, SchemaIssue } from './schema-validator.js';
import type { ConfigKind } from './schemas/index.js';

type Obj = Record<string, unknown>;
type Entry = Obj & { name: string };

function duplicates(list: unknown, listKey: string, out: SchemaIssue[]): void {
  const seen = new Map<string, number>();
  ((list ?? []) as Entry[]).forEach((e, i) => {
    const first = seen.get(e.name);
    if (first === undefined) seen.set(e.name, i);
    else out.push({ path: [listKey, i, 'name'], at: 'value', expected: `a name not used by another ${listKey} entry`, message: `duplicate name "${e.name}" (already used by ${listKey}[${first}])` });
  });
}

function reference(value: unknown, path: KeyPath, list: unknown, listKey: string, out: SchemaIssue[]): void {
  if (value === undefined) return;
  const names = ((list ?? []) as Entry[]).map((e) => e.name);
  if (names.includes(value as string)) return;
  const near = closest(String(value), names);
  const expected = names.length ? `the name of one of ${listKey}: ${names.join(', ')}` : `the name of an entry in ${listKey} (there are none)`;
  out.push({ path, at: 'value', expected, message: `no ${listKey.slice(0, -1)} named "${String(value)}" (expected ${names.length ? `one of: ${names.join(', ')}` : `an entry in ${listKey}; the file defines none`}${near ? `; did you mean "${near}"?` : ''})` });
}

/** "10.0.0.0/8" stays, "192.168.1.5" becomes "192.168.1.5/32", "::1" becomes "::1/128"; undefined if not an address. */
export function normaliseCidr(text: string): string | undefined {
  const [addr, prefix, ...rest] = text.split('/');
  const family = isIP(addr);
  if (!family || rest.length) return undefined;
  const max = family === 4 ? 32 : 128;
  if (prefix === undefined) return `${addr}/${max}`;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return undefined;
  return `${addr}/${Number(prefix)}`;
}

function allowLists(list: unknown, listKey: string, out: SchemaIssue[]): void {
  ((list ?? []) as Obj[]).forEach((e, i) => {
    ((e.allow ?? []) as string[]).forEach((a, j) => {
      if (normaliseCidr(a) === undefined) out.push({ path: [listKey, i, 'allow', j], at: 'value', expected: 'an IP address or network such as 10.0.0.0/8, 192.168.1.5 or ::1/128', message: `expected an IP address or network such as 10.0.0.0/8, 192.168.1.5 or ::1/128, got ${JSON.stringify(a)}` });
    });
  });
}

function dir(c: Obj, out: SchemaIssue[]): void {
  for (const key of ['consoles', 'clients', 'storages', 'pools', 'filesets', 'schedules', 'jobs']) duplicates(c[key], key, out);
  allowLists(c.consoles, 'consoles', out);
  ((c.filesets ?? []) as Obj[]).forEach((f, i) => {
    const include = (f.include ?? []) as string[];
    const agents = (f.agents ?? []) as unknown[];
    if (((f.exclude ?? []) as string[]).length && !include.length) out.push({ path: ['filesets', i, 'exclude'], at: 'key', expected: 'include paths beside a top-level exclude', message: 'a top-level exclude needs a top-level include (put it on an agent line instead)' });
    if (!include.length && !agents.length) out.push({ path: ['filesets', i], at: 'mapping', expected: 'include paths or agent lines', message: 'the fileset selects nothing: give include paths or agent lines' });
  });
  ((c.storages ?? []) as Obj[]).forEach((s, i) => {
    const byAddress = s.address !== undefined || s.port !== undefined;
    if (byAddress && s.command !== undefined) out.push({ path: ['storages', i, 'command'], at: 'key', expected: 'address and port, or command, not both', message: 'give either address and port or command, not both' });
    else if (!byAddress && s.command === undefined) out.push({ path: ['storages', i], at: 'mapping', expected: 'address and port, or command', message: 'the storage needs address and port (TCP) or command (stdio)' });
    else if (byAddress && (s.address === undefined || s.port === undefined)) out.push({ path: ['storages', i, s.address === undefined ? 'port' : 'address'], at: 'key', expected: 'both address and port', message: `address and port go together: ${s.address === undefined ? 'address' : 'port'} is missing` });
  });
  ((c.pools ?? []) as Obj[]).forEach((p, i) => {
    if (p.recyclePool !== undefined) reference(p.recyclePool, ['pools', i, 'recyclePool'], c.pools, 'pools', out);
    const label = p.labelFormat as string | undefined;
    if (label !== undefined && !/\$\{Counter(:[1-9])?\}/.test(label)) out.push({ path: ['pools', i, 'labelFormat'], at: 'value', expected: 'a template with ${Counter} or ${Counter:N}', message: 'a label format must contain ${Counter} (or ${Counter:N}) so that volume names differ' });
  });
  ((c.jobs ?? []) as Obj[]).forEach((j, i) => {
    if (j.type === 'catalog') {
      if (j.fileset !== undefined) out.push({ path: ['jobs', i, 'fileset'], at: 'key', expected: 'no fileset on a catalog job', message: 'a catalog job backs up the catalog, its config and bootstrap files: it takes no fileset' });
    } else {
      if (j.fileset === undefined) out.push({ path: ['jobs', i], at: 'mapping', expected: 'a fileset', message: 'a backup job needs a fileset (the name of one of filesets)' });
      if (j.copyTo !== undefined) out.push({ path: ['jobs', i, 'copyTo'], at: 'key', expected: 'copyTo only on a catalog job', message: 'copyTo is for catalog jobs (type: catalog)' });
    }
    reference(j.client, ['jobs', i, 'client'], c.clients, 'clients', out);
    reference(j.fileset, ['jobs', i, 'fileset'], c.filesets, 'filesets', out);
    reference(j.storage, ['jobs', i, 'storage'], c.storages, 'storages', out);
    reference(j.pool, ['jobs', i, 'pool'], c.pools, 'pools', out);
    reference(j.schedule, ['jobs', i, 'schedule'], c.schedules, 'schedules', out);
  });
}

/** Problems the schema could not see; empty when the configuration is coherent. */
export function crossReferenceIssues(kind: ConfigKind, config: unknown): SchemaIssue[] {
  const c = config as Obj;
  const out: SchemaIssue[] = [];
  if (kind === 'dir') dir(c, out);
  if (kind === 'fd' || kind === 'sd') {
    duplicates(c.directors, 'directors', out);
    allowLists(c.directors, 'directors', out);
  }
  if (kind === 'fd') duplicates(c.storages, 'storages', out);
  if (kind === 'sd') duplicates(c.devices, 'devices', out);
  return out;
}
