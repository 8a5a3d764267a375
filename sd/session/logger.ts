/**
 * The logger shape the SD uses (pino-compatible subset) and a silent default.
 */
export interface SdLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: SdLogger = { info: () => {}, warn: () => {}, error: () => {} };
