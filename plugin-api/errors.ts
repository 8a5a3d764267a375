/**
 * CairnError: the one error shape every part of Cairn throws.
 *
 * Facts are fields (agent, hook, path, volume, block, errno…); `message` is
 * for a human and never parsed. Match on `err.code`. The class is branded with
 * a global symbol so that two copies of plugin-api (an agent bundling its own)
 * still recognise each other's errors.
 */
const BRAND = Symbol.for('cairn.error');

export interface CairnErrorFields {
  /** Anything else worth keeping: agent, hook, path, volume, block, errno… */
  [fact: string]: unknown;
}

export class CairnError extends Error {
  readonly code: string;
  readonly fields: CairnErrorFields;
  readonly retryable: boolean;

  constructor(code: string, message: string, fields: CairnErrorFields = {}, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CairnError';
    this.code = code;
    this.fields = fields;
    this.retryable = options.retryable ?? false;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return isCairnError(value);
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.fields };
  }
}

export function isCairnError(value: unknown): value is CairnError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** One entry of an error catalogue: a code, its exit status and whether retrying may help. */
export interface ErrorSpec {
  readonly exitCode: number;
  readonly retryable: boolean;
  readonly summary: string;
}

/** Errors of the agent interface itself (the host and the kit raise these). */
export const AGENT_ERRORS = {
  CAIRN_E_AGENT_FAILED: { exitCode: 3, retryable: false, summary: 'An agent hook threw, rejected or broke its contract.' },
  CAIRN_E_AGENT_TIMEOUT: { exitCode: 3, retryable: true, summary: 'An agent hook did not settle within its timeout.' },
  CAIRN_E_AGENT_NOT_FOUND: { exitCode: 2, retryable: false, summary: 'The fileset names an agent that cannot be found.' },
  CAIRN_E_AGENT_NOT_ALLOWED: { exitCode: 2, retryable: false, summary: "The agent is not in the FD's plugin directory or allow-list." },
  CAIRN_E_AGENT_API_MISMATCH: { exitCode: 2, retryable: false, summary: 'The agent and the host share no plugin API version.' },
  CAIRN_E_AGENT_INVALID: { exitCode: 2, retryable: false, summary: 'The module is not a valid agent (manifest or factory missing or malformed).' },
  CAIRN_E_AGENT_OPTIONS: { exitCode: 2, retryable: false, summary: "The agent's options do not match its option schema." },
  CAIRN_E_AGENT_ABORTED: { exitCode: 4, retryable: false, summary: 'The job was cancelled while an agent hook ran.' },
  CAIRN_E_AGENT_EXITED: { exitCode: 3, retryable: false, summary: "An agent's own process (process isolation) exited, crashed or was killed while the agent was in use." },
} as const satisfies Record<string, ErrorSpec>;

export type AgentErrorCode = keyof typeof AGENT_ERRORS;
