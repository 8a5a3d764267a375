/**
 * Session tickets: random 128-bit hex strings the Director hands to an FD.
 * Single-use: the first connection that presents one is bound to it; any
 * later presentation, on any connection, is refused.
 */
import { randomBytes } from 'node:crypto';
import { CairnError } from '../../plugin-api/index.js';
import type { AppendSession } from '../session/append-session.js';
import type { ReadSession } from '../session/read-session.js';

/**
 * Each entry also has a session key: 256 random bits the Director hands the FD with the ticket, which the FD
 * proves it knows when it authenticates to the SD (handshake name = keyId). The ticket is then accepted only on
 * a connection authenticated with that key.
 */
interface EntryBase {
  ticket: string;
  keyId: string;
  key: string;
  boundTo: object | null;
  owner: object;
}

export type TicketEntry = (EntryBase & { kind: 'append'; session: AppendSession }) | (EntryBase & { kind: 'read'; session: ReadSession });

export class TicketBook {
  private readonly entries = new Map<string, TicketEntry>();

  issue<E extends TicketEntry>(make: (ticket: string, keyId: string, key: string) => E): E {
    const ticket = randomBytes(16).toString('hex');
    const e = make(ticket, randomBytes(8).toString('hex'), randomBytes(32).toString('hex'));
    this.entries.set(ticket, e);
    return e;
  }

  /** Live sessions by kind, for `status`. */
  counts(): { append: number; read: number } {
    let append = 0;
    let read = 0;
    for (const e of this.entries.values()) e.kind === 'append' ? append++ : read++;
    return { append, read };
  }

  /** The session key of a live, unbound ticket by its key id (what an FD authenticates with), or undefined. */
  keyFor(keyId: string): string | undefined {
    for (const e of this.entries.values()) if (e.keyId === keyId && !e.boundTo) return e.key;
    return undefined;
  }

  get(ticket: string | undefined): TicketEntry | undefined {
    return ticket ? this.entries.get(ticket) : undefined;
  }

  /** Binds an unused ticket of `kind` to `conn`; throws CAIRN_E_SESSION_TICKET / _TICKET_USED. */
  bind<K extends TicketEntry['kind']>(ticket: string | undefined, kind: K, conn: object, keyId: string | null = null): Extract<TicketEntry, { kind: K }> {
    const e = this.get(ticket);
    if (!e || e.kind !== kind || (keyId !== null && e.keyId !== keyId)) {
      throw new CairnError('CAIRN_E_SESSION_TICKET', `Invalid ticket for a${kind === 'append' ? 'n append' : ' read'} session.`, { ticket: ticket ?? null, kind });
    }
    if (e.boundTo) throw new CairnError('CAIRN_E_SESSION_TICKET_USED', 'This ticket was already used; tickets are single-use.', { ticket, kind });
    e.boundTo = conn;
    return e as Extract<TicketEntry, { kind: K }>;
  }

  /** The entry bound to conn under `ticket`, or a CAIRN_E_SESSION_TICKET error. */
  bound(ticket: string | undefined, conn: object): TicketEntry {
    const e = this.get(ticket);
    if (!e) throw new CairnError('CAIRN_E_SESSION_TICKET', 'Invalid ticket.', { ticket: ticket ?? null });
    if (e.boundTo !== conn) throw new CairnError('CAIRN_E_SESSION_TICKET_USED', 'This ticket is bound to another connection.', { ticket });
    return e;
  }

  delete(ticket: string): void {
    this.entries.delete(ticket);
  }

  /** Volumes named by read sessions not yet closed (ticketed or reading): they must not be truncated. */
  readVolumes(): Set<string> {
    const out = new Set<string>();
    for (const e of this.entries.values()) {
      if (e.kind !== 'read' || e.session.state === 'closed') continue;
      for (const v of e.session.volumes) out.add(v);
    }
    return out;
  }

  /** Forgets the tickets `owner` was issued that no connection took up (the owner's connection ended). */
  dropUnboundOf(owner: object): void {
    for (const [t, e] of this.entries) if (e.owner === owner && e.boundTo === null) this.entries.delete(t);
  }
}
