/**
 * What TLS mode `auto` means for a given peer address: plain on loopback
 * (127.0.0.0/8, ::1, localhost), TLS-PSK anywhere else.
 */
import { isIP } from 'node:net';
import type { TlsConfig } from './config-types.js';

export function isLoopbackAddress(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  if (a === 'localhost' || a === '::1' || a === '0:0:0:0:0:0:0:1') return true;
  if (isIP(a) === 4) return a.startsWith('127.');
  return a.startsWith('::ffff:127.');
}

/** The mode actually used to reach (or accept) `address`: never 'auto'. */
export function effectiveTlsMode(tls: TlsConfig | undefined, address: string): 'psk' | 'cert' | 'off' {
  const mode = tls?.mode ?? 'auto';
  if (mode !== 'auto') return mode;
  return isLoopbackAddress(address) ? 'off' : 'psk';
}
