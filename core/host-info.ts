/** Who the host is, for version negotiation messages and logs. */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
function findVersion(): string {
  for (const p of ['../package.json', '../../package.json']) {
    try {
      const pkg = require(p) as { name?: string; version?: string };
      if (pkg.name === 'cairn' && pkg.version) return pkg.version;
    } catch {
      // not at this depth
    }
  }
  return '0.0.0';
}

export const HOST_NAME = 'cairn-fd';
export const HOST_VERSION = findVersion();
