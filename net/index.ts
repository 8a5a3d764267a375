/**
 * net/: transport and authentication under every Cairn protocol.
 *
 * Owns: turning a TCP connection, a TLS channel, stdio pipes or a spawned
 * command (ssh) into an authenticated byte stream — the listener's admission
 * (allow-list, connection cap), TLS modes off/psk/cert/auto, the mutual HMAC
 * handshake with its login delay — and a framing-free heartbeat helper.
 * docs/transport.md is the normative spec.
 *
 * Does not promise: anything about the bytes after the handshake (the framed
 * protocols of protocol.md start at the exact next byte and are their owners'),
 * reading configuration (callers pass names, secrets, allow-lists and TLS file
 * paths), or secrecy on a `tls: off` connection (the handshake authenticates,
 * it does not encrypt). Shared secrets must be high-entropy: a peer that
 * claims a known name obtains a server proof it can attack offline.
 */
export { NET_ERRORS, type NetErrorCode } from './errors.js';
export { ROLES, SUPPORTED_VERSIONS, isValidName, type PeerRole } from './auth-proof.js';
export {
  acceptHandshake, offerHandshake, DEFAULT_HANDSHAKE_TIMEOUT_MS,
  type AcceptOptions, type AcceptedPeer, type OfferOptions, type OfferResult, type PeerClaim,
} from './handshake.js';
export { LoginDelay, DEFAULT_LOGIN_DELAY, type LoginDelayOptions, type NetLogger } from './login-delay.js';
export { allowList, isLoopback } from './cidr.js';
export { derivePsk, pskIdentity, effectiveMode, PSK_CIPHERS, type TlsMode, type TlsSettings, type WireTls } from './tls.js';
export { listen, type ListenOptions, type Listener, type SessionPeer } from './listener.js';
export { connect, connectCommand, type CommandConnectOptions, type ConnectOptions, type Connection } from './connect.js';
export { stdioDuplex, spawnDuplex, type SpawnDuplexOptions } from './stdio.js';
export { Heartbeat, type HeartbeatOptions } from './heartbeat.js';
