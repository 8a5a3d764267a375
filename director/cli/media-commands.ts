/**
 * The console's tape media commands — `media`, `mount`, `unmount`, `label` —
 * in local mode (the repository's vtape device, through its SD's media
 * commands) and, with --config, through the Director to a storage's SD
 * (protocol.md §10). Text output lists the drive, the slots, a pending mount
 * request and the volumes with their catalog state.
 */
import { CairnError } from '../../plugin-api/index.js';
import type { Output } from './output.js';
import { withRepo, type CommonArgs } from './commands.js';

export type MediaOp = 'media' | 'mount' | 'unmount' | 'label';

export interface MediaArgs extends CommonArgs {
  config?: string;
  storage?: string;
  device?: string;
  slot?: number;
  name?: string;
  pool?: string;
  scan?: boolean;
}

/** Runs one media command against an SD's media commands (local mode) or returns null for remote. */
export async function cmdMedia(op: MediaOp, args: MediaArgs, out: Output): Promise<number> {
  if (args.config) {
    const { remoteMedia } = await import('./remote-commands.js');
    const body = await remoteMedia(op, args as never, out);
    print(op, body, out);
    return 0;
  }
  const body = await withRepo(args, op, op !== 'media', out, async (repo) => {
    const m = repo.sd.media;
    switch (op) {
      case 'media':
        return m.status(args.device, { scan: args.scan });
      case 'mount':
        return m.mount(args.device, args.slot);
      case 'unmount':
        return m.unmount(args.device);
      default:
        return m.label({ device: args.device, name: args.name, pool: args.pool ?? repo.pool, slot: args.slot });
    }
  });
  print(op, body, out);
  return 0;
}

function print(op: MediaOp, body: Record<string, unknown>, out: Output): void {
  out.data(body, () => {
    if (op === 'label') return `labelled ${String(body.volume)} (pool ${String(body.pool)})${body.slot !== null && body.slot !== undefined ? ` in slot ${String(body.slot)}` : ''}${body.previous ? `, over ${String(body.previous)}` : ''}`;
    if (op === 'mount') return `device ${String(body.device)}: ${describeLoaded(body.loaded)}`;
    if (op === 'unmount') return `device ${String(body.device)}: unloaded`;
    const lines = [`device ${String(body.device)} (${String(body.type)}): ${String(body.state)}; drive holds ${describeLoaded(body.loaded)}`];
    const req = body.mountRequest as { message: string; since: number; maxWaitMs: number } | null;
    if (req) lines.push(`MOUNT REQUEST: ${req.message} (waiting since ${new Date(req.since).toISOString()}, at most ${Math.round(req.maxWaitMs / 1000)} s)`);
    const slots = (body.slots as Array<{ slot: number; tag?: string; volume?: string }>) ?? [];
    if (slots.length) lines.push('Slot  Tag         Volume', ...slots.map((s) => `${String(s.slot).padEnd(5)} ${(s.tag ?? '-').padEnd(11)} ${s.volume === undefined ? '(not read)' : s.volume === '' ? '(blank)' : s.volume}`));
    const vols = (body.volumes as Array<{ name: string; status: string; pool: string | null; inDrive: boolean; slot: number | null }>) ?? [];
    if (vols.length) lines.push('Volume                Pool          Status     Where', ...vols.map((v) => `${v.name.padEnd(21)} ${String(v.pool ?? '-').padEnd(13)} ${v.status.padEnd(10)} ${v.inDrive ? 'drive' : v.slot !== null ? `slot ${v.slot}` : '-'}`));
    return lines.join('\n');
  });
}

function describeLoaded(l: unknown): string {
  if (!l) return 'no tape';
  const x = l as { volume: string | null; slot?: number; foreign?: boolean };
  const what = x.foreign ? 'a tape that is not a Cairn volume' : x.volume === '' ? 'a blank tape' : `volume ${String(x.volume)}`;
  return `${what}${x.slot !== undefined ? ` (from slot ${x.slot})` : ''}`;
}

export function mediaUsage(op: MediaOp): never {
  throw new CairnError('CAIRN_E_USAGE', `${op}: see cairn ${op} --help`, {});
}
