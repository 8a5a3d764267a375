/**
 * The net/ error catalogue: transport (TCP, TLS, stdio, child processes) and
 * the authentication handshake. Codes only; the messages are built where the
 * error is thrown, with the facts (host, port, errno, name, status) as fields.
 */
import type { ErrorSpec } from '../plugin-api/index.js';

export const NET_ERRORS = {
  CAIRN_E_AUTH_FAILED: { exitCode: 2, retryable: false, summary: 'Authentication failed: the peer does not know our shared secret, the name is unknown, or the server is not the one expected.' },
  CAIRN_E_AUTH_PROTOCOL: { exitCode: 3, retryable: false, summary: 'The peer broke the handshake: garbage, an overlong or malformed line, an unexpected message, or no common protocol version.' },
  CAIRN_E_AUTH_TIMEOUT: { exitCode: 3, retryable: true, summary: 'The handshake was not completed within its timeout.' },
  CAIRN_E_AUTH_CONFIG: { exitCode: 2, retryable: false, summary: 'Our own handshake settings are unusable (empty secret, a name with characters the handshake does not allow).' },
  CAIRN_E_NET_CONFIG: { exitCode: 2, retryable: false, summary: 'Listener or connector settings are unusable (an allow-list entry, TLS files or mode, an address).' },
  CAIRN_E_NET_NOT_ALLOWED: { exitCode: 2, retryable: false, summary: "The listener refused the connection: the client's address is not in its allow-list." },
  CAIRN_E_NET_BUSY: { exitCode: 3, retryable: true, summary: 'The listener refused the connection: it already serves its maximum number of connections.' },
  CAIRN_E_NET_CONNECT: { exitCode: 3, retryable: true, summary: 'The TCP connection could not be made (refused, unreachable, name not resolved…); errno is a field.' },
  CAIRN_E_NET_TIMEOUT: { exitCode: 3, retryable: true, summary: 'Connecting (TCP, greeting or TLS) did not finish within the timeout.' },
  CAIRN_E_NET_TLS: { exitCode: 2, retryable: false, summary: 'TLS failed or the two sides disagree on TLS mode (psk / cert / off), or a certificate or PSK was refused.' },
  CAIRN_E_NET_CLOSED: { exitCode: 3, retryable: true, summary: 'The connection closed or failed before the handshake finished.' },
  CAIRN_E_NET_SPAWN: { exitCode: 3, retryable: false, summary: 'The command that carries a stdio connection (e.g. ssh) could not be started.' },
  CAIRN_E_NET_PEER_EXIT: { exitCode: 3, retryable: true, summary: 'The child process carrying a stdio connection exited with a non-zero status or a signal.' },
} as const satisfies Record<string, ErrorSpec>;

export type NetErrorCode = keyof typeof NET_ERRORS;
