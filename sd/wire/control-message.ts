/**
 * Control messages (docs/protocol.md §Control messages): one frame each.
 * A request is an ASCII command line, optionally followed by "\n" and a JSON
 * body. A reply is a four-digit status, a space and text, optionally followed
 * by "\n" and a JSON body. Error replies carry {code, message, fields}.
 */
import { CairnError, isCairnError } from '../../plugin-api/index.js';

export const Status = {
  OK: 3000,
  /** Unsolicited notification on a Director connection (never a reply). */
  NOTIFICATION: 3201,
  END_OF_DATA: 3401,
  VOLUME_BUSY: 3502,
  VOLUME_NOT_MOUNTED: 3503,
  INVALID_TICKET: 3504,
  SESSION_ABORTED: 3505,
  PROTOCOL_ERROR: 3900,
  INTERNAL_ERROR: 3999,
} as const;

export interface Request {
  line: string;
  /** The words of the line that are not Key=Value arguments, lower-cased. */
  words: string[];
  args: Record<string, string>;
  body?: unknown;
}

export interface Reply {
  status: number;
  text: string;
  body?: unknown;
}

export function formatMessage(line: string, body?: unknown): Buffer {
  if (line.includes('\n') || line.includes('\0')) throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', 'A control line may not contain a newline or NUL.', { line });
  if (body === undefined) return Buffer.from(line, 'utf8');
  if (Buffer.isBuffer(body)) {
    // Binary body: the line, a NUL, then the bytes (protocol.md §Control messages).
    const head = Buffer.from(`${line}\0`, 'utf8');
    return Buffer.concat([head, body], head.length + body.length);
  }
  return Buffer.from(`${line}\n${JSON.stringify(body)}`, 'utf8');
}

function splitBody(buf: Buffer): { line: string; body?: unknown } {
  // The line is short: find its end by bytes, without decoding a large body first.
  let i = 0;
  while (i < buf.length && buf[i] !== 0x0a && buf[i] !== 0x00) i++;
  const line = buf.toString('utf8', 0, i);
  if (i === buf.length) return { line };
  if (buf[i] === 0x00) return { line, body: buf.subarray(i + 1) };
  try {
    return { line, body: JSON.parse(buf.toString('utf8', i + 1)) };
  } catch (cause) {
    throw new CairnError('CAIRN_E_PROTOCOL_COMMAND', 'The JSON body of a control message does not parse.', { line }, { cause });
  }
}

export function parseRequest(buf: Buffer): Request {
  const { line, body } = splitBody(buf);
  const words: string[] = [];
  const args: Record<string, string> = {};
  for (const tok of line.trim().split(/\s+/)) {
    if (tok === '') continue;
    const eq = tok.indexOf('=');
    if (eq > 0) args[tok.slice(0, eq).toLowerCase()] = tok.slice(eq + 1);
    else words.push(tok.toLowerCase());
  }
  return { line, words, args, body };
}

export function parseReply(buf: Buffer): Reply {
  const { line, body } = splitBody(buf);
  const m = /^(\d{4})(?: (.*))?$/.exec(line);
  if (!m) throw new CairnError('CAIRN_E_PROTOCOL_REPLY', 'A reply does not start with a four-digit status.', { line: line.slice(0, 80) });
  return { status: Number(m[1]), text: m[2] ?? '', body };
}

/** The status an error is reported with (the error's code travels in the body). */
export function statusForError(err: unknown): number {
  const code = isCairnError(err) ? err.code : '';
  if (code === 'CAIRN_E_SESSION_TICKET' || code === 'CAIRN_E_SESSION_TICKET_USED') return Status.INVALID_TICKET;
  if (code.startsWith('CAIRN_E_SESSION_')) return Status.SESSION_ABORTED;
  if (code === 'CAIRN_E_VOLUME_BUSY') return Status.VOLUME_BUSY;
  if (code.startsWith('CAIRN_E_VOLUME_') || code.startsWith('CAIRN_E_DEVICE_')) return Status.VOLUME_NOT_MOUNTED;
  if (code.startsWith('CAIRN_E_PROTOCOL_')) return Status.PROTOCOL_ERROR;
  return Status.INTERNAL_ERROR;
}

export function errorBody(err: unknown): { code: string; message: string; fields: Record<string, unknown> } {
  if (isCairnError(err)) return { code: err.code, message: err.message, fields: err.fields as Record<string, unknown> };
  return { code: 'CAIRN_E_SD_INTERNAL', message: err instanceof Error ? err.message : String(err), fields: {} };
}

export function errorReply(err: unknown): Buffer {
  const body = errorBody(err);
  return formatMessage(`${statusForError(err)} ${body.code}`, body);
}

/** Turns an error reply back into a CairnError on the client side. */
export function replyError(reply: Reply, request: string): CairnError {
  const b = (reply.body ?? {}) as { code?: string; message?: string; fields?: Record<string, unknown> };
  return new CairnError(b.code ?? 'CAIRN_E_PROTOCOL_REPLY', b.message ?? `The SD answered ${reply.status} ${reply.text} to "${request}".`, {
    ...(b.fields ?? {}),
    status: reply.status,
    request,
  });
}

/** A reply or notification starts with four digits (then a space, a newline, a NUL or nothing); a request does not. */
export function isReplyFrame(buf: Buffer): boolean {
  if (buf.length < 4) return false;
  for (let i = 0; i < 4; i++) if (buf[i] < 0x30 || buf[i] > 0x39) return false;
  return buf.length === 4 || buf[4] === 0x20 || buf[4] === 0x0a || buf[4] === 0x00;
}
