/**
 * Admission: the listener's first word on a TCP connection, before TLS and
 * the handshake (docs/transport.md §3). `1000 ready Cairn/1 TLS=<mode>` admits
 * the client and tells it the TLS mode of this connection; `1403` (address not
 * allowed) and `1503` (too many connections) refuse it. Sent in plaintext so a
 * refused client can read why, whatever TLS mode it expected.
 */
import type { Duplex } from 'node:stream';
import { CairnError } from '../plugin-api/index.js';
import { parseLine } from './auth-proof.js';
import { LineReader, encodeLine, parseStatus, refusalError, refuse } from './handshake-frames.js';
import type { WireTls } from './tls.js';

export function admit(stream: Duplex, mode: WireTls): void {
  stream.write(encodeLine(`1000 ready Cairn/1 TLS=${mode}`));
}

export function refuseNotAllowed(stream: Duplex, address: string): void {
  refuse(stream, `1403 CAIRN_E_NET_NOT_ALLOWED host ${address} is not allowed`);
}

export function refuseBusy(stream: Duplex, max: number): void {
  refuse(stream, `1503 CAIRN_E_NET_BUSY too many connections (max ${max})`);
}

/** Client side: reads the admission line; returns the server's TLS mode or throws the refusal's error. */
export async function readAdmission(stream: Duplex, fields: Record<string, unknown>): Promise<WireTls> {
  const reader = new LineReader(stream);
  try {
    let line: string;
    try {
      line = await reader.next();
    } catch (err) {
      const e = err as CairnError;
      const what = e.code === 'CAIRN_E_NET_CLOSED' ? 'closed the connection without a greeting' : 'did not greet like a Cairn daemon';
      throw new CairnError(e.code ?? 'CAIRN_E_AUTH_PROTOCOL', `${fields.host}:${fields.port} ${what}.`, { ...fields }, { cause: err, retryable: e.retryable });
    }
    const st = parseStatus(line);
    if (st && st.status !== 1000) throw refusalError(st, fields);
    const parsed = st ? parseLine(st.text) : null;
    const mode = parsed?.args.get('tls');
    if (!parsed || parsed.command !== 'ready cairn/1' || (mode !== 'off' && mode !== 'psk' && mode !== 'cert')) {
      throw new CairnError('CAIRN_E_AUTH_PROTOCOL', `${fields.host}:${fields.port} did not greet like a Cairn daemon: "${line.slice(0, 80)}".`, { ...fields });
    }
    return mode;
  } finally {
    reader.release();
  }
}
