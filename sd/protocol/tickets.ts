/**
 * Session tickets: random 128-bit hex strings the Director hands to an FD.
 * Single-use: the first connection that presents one is bound to it; any
 * later presentation, on any connection, is refused.
 */
import { randomBytes } from 'node:crypto';
import { CairnError } from '../../plugin-api/index.js';
import type { AppendSession } from '../session/append-session.js';
import type { ReadSession } from '../session/read-session.js';

export type TicketEntry =
  | { kind: 'append'; ticket: string; session: AppendSession; boundTo: object | null; owner: object }
  | { kind: 'read'; ticket: string; session: ReadSession; boundTo: object | null; owner: object };

export class TicketBook {
  private readonly entries = new Map<string, TicketEntry>();

  issue<E extends TicketEntry>(make: (ticket: string) => E): E {
    const ticket = randomBytes(16).toString('hex');
    const e = make(ticket);
    this.entries.set(ticket, e);
    return e;
  }

  get(ticket: string | undefined): TicketEntry | undefined {
    return ticket ? this.entries.get(ticket) : undefined;
  }

  /** Binds an unused ticket of `kind` to `conn`; throws CAIRN_E_SESSION_TICKET / _TICKET_USED. */
  bind<K extends TicketEntry['kind']>(ticket: string | undefined, kind: K, conn: object): Extract<TicketEntry, { kind: K }> {
    const e = this.get(ticket);
    if (!e || e.kind !== kind) {
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
}
