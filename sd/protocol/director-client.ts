/**
 * SdDirectorClient: the Director's side of a Director↔SD connection, on a
 * ControlChannel. Sends commands (one reply each, in order), dispatches the
 * SD's unsolicited 3201 notifications to the registered handlers, and
 * answers the SD's catalog requests (protocol.md §4.1). A handler that
 * returns a promise is awaited before the next frame is read: that is the
 * Director's back-pressure on the SD (never await a request on this same
 * client inside a handler).
 */
import type { Duplex } from 'node:stream';
import { CairnError } from '../../plugin-api/index.js';
import type { Bootstrap, SdNotification, SessionJobInfo, VolumeCatalogPort } from '../api.js';
import { ControlChannel, type HandlerReply } from '../wire/control-channel.js';
import type { Request } from '../wire/control-message.js';
import { CATALOG_OPERATIONS } from './director-catalog-link.js';
import { decodeNotification } from './notification-codec.js';
import type { VolumeVerifyRequest, VolumeVerifyResult } from '../volume/volume-verifier.js';

/** What opening a session grants: the ticket, and the session key an FD proves it knows when it connects (docs/transport.md). */
export interface SessionGrant {
  ticket: string;
  keyId: string;
  key: string;
}

export class SdDirectorClient {
  private readonly channel: ControlChannel;
  private readonly handlers: Array<(n: SdNotification) => void | Promise<void>> = [];
  private catalog: VolumeCatalogPort | null = null;

  /** `heartbeatMs`: heartbeats both ways on a network connection; an SD silent for twice that is gone. */
  constructor(stream: Duplex, opts: { heartbeatMs?: number } = {}) {
    this.channel = new ControlChannel(stream, {
      peer: 'the SD',
      heartbeatMs: opts.heartbeatMs,
      onNotification: async (_type, body) => {
        const n = decodeNotification(body);
        for (const h of this.handlers) await h(n);
      },
      onRequest: (req) => this.answer(req),
    });
  }

  /** Resolves when the connection has ended (the read loop stopped); never rejects. */
  get done(): Promise<void> {
    return this.channel.done;
  }

  /** Why the connection ended (null while open). */
  get endReason(): CairnError | null {
    return this.channel.endReason;
  }

  onNotification(handler: (n: SdNotification) => void | Promise<void>): void {
    this.handlers.push(handler);
  }

  /** Answers the SD's catalog requests (protocol.md §4.1) from this port: a daemon SD has no catalog of its own. */
  serveCatalog(port: VolumeCatalogPort): void {
    this.catalog = port;
  }

  /** Opens an append session: the ticket, and the session key (keyId, key) the FD authenticates with. */
  async openAppendSession(job: SessionJobInfo): Promise<SessionGrant & { sessionId: number }> {
    return (await this.channel.request('open append session', job)).body as SessionGrant & { sessionId: number };
  }

  async openReadSession(bootstrap: Bootstrap): Promise<SessionGrant> {
    return (await this.channel.request('open read session', bootstrap)).body as SessionGrant;
  }

  /** `verify session`: the SD checks one session's blocks and records where they lie (protocol.md §3.1); no data comes back. */
  async verifySession(req: VolumeVerifyRequest): Promise<VolumeVerifyResult> {
    return (await this.channel.request('verify session', req)).body as VolumeVerifyResult;
  }

  /** The SD's sessions, connections and device. */
  async status(): Promise<Record<string, unknown>> {
    return (await this.channel.request('status')).body as Record<string, unknown>;
  }

  /**
   * Recycles a purged volume (protocol.md §3 `truncate volume`): a new label (in `pool`, if given) and the volume
   * cut to it. CAIRN_E_VOLUME_BUSY while a read or append session uses it.
   */
  async truncateVolume(volume: string, opts: { pool?: string } = {}): Promise<{ volume: string; bytesBefore: number; bytesAfter: number; blockSize: number; label: Record<string, unknown> }> {
    return (await this.channel.request(`truncate volume Name=${volume}`, opts)).body as { volume: string; bytesBefore: number; bytesAfter: number; blockSize: number; label: Record<string, unknown> };
  }

  /** Tape media (protocol.md §3.2): the drive, its slots, the mount request and the volumes; `scan` reads every unknown tape's label first. */
  async media(opts: { device?: string; scan?: boolean } = {}): Promise<Record<string, unknown>> {
    return (await this.channel.request(`media${opts.device ? ` Device=${opts.device}` : ''}${opts.scan ? ' Scan=1' : ''}`)).body as Record<string, unknown>;
  }

  /** Loads `slot` (changer) or re-reads the tape an operator put in the drive; wakes jobs waiting for media. */
  async mount(opts: { device?: string; slot?: number } = {}): Promise<Record<string, unknown>> {
    return (await this.channel.request(`mount${opts.device ? ` Device=${opts.device}` : ''}${opts.slot !== undefined ? ` Slot=${opts.slot}` : ''}`)).body as Record<string, unknown>;
  }

  async unmount(opts: { device?: string } = {}): Promise<Record<string, unknown>> {
    return (await this.channel.request(`unmount${opts.device ? ` Device=${opts.device}` : ''}`)).body as Record<string, unknown>;
  }

  /** Labels the tape in the drive (or `slot`) for `pool`; the name from the pool's label template unless given. */
  async label(opts: { pool: string; name?: string; device?: string; slot?: number }): Promise<Record<string, unknown>> {
    const line = `label${opts.device ? ` Device=${opts.device}` : ''}${opts.name ? ` Name=${opts.name}` : ''}${opts.slot !== undefined ? ` Slot=${opts.slot}` : ''}`;
    return (await this.channel.request(line, { pool: opts.pool })).body as Record<string, unknown>;
  }

  async cancel(ticket: string): Promise<void> {
    await this.channel.request(`cancel Ticket=${ticket}`);
  }

  /**
   * `claim JobId=` (protocol.md §4.2): the job's notifications come to this connection from now on, every
   * spooled one first — register the job's handler before calling. `state` says whether its session still runs.
   */
  async claim(jobId: number): Promise<{ state: 'running' | 'closed' | 'aborted' | 'lost'; notifications: number }> {
    return (await this.channel.request(`claim JobId=${jobId}`)).body as { state: 'running' | 'closed' | 'aborted' | 'lost'; notifications: number };
  }

  /** `release JobId=`: the job is committed; the SD may forget its spooled notifications. */
  async release(jobId: number): Promise<void> {
    await this.channel.request(`release JobId=${jobId}`);
  }

  close(): Promise<void> {
    return this.channel.close();
  }

  /** One SD request: `catalog <operation>` with the arguments as a JSON array; the result in `{ result }`. */
  private async answer(req: Request): Promise<HandlerReply> {
    const op = req.words[0] === 'catalog' ? CATALOG_OPERATIONS[req.words[1] as keyof typeof CATALOG_OPERATIONS] : undefined;
    if (!op || !this.catalog) throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', `The Director does not answer "${req.line.slice(0, 80)}".`, { command: req.line.slice(0, 80) });
    const args = Array.isArray(req.body) ? req.body : [];
    const fn = this.catalog[op] as (...a: unknown[]) => Promise<unknown>;
    const result = await fn.apply(this.catalog, args);
    return { text: req.words.join(' '), body: { result: result ?? null } };
  }
}
