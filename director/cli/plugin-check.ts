/**
 * `cairn plugin check PATH`: loads an agent module and runs the plugin-api
 * conformance kit against it with the real platform services.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runConformance } from '../../plugin-api/index.js';
import { admitModule } from '../../core/index.js';
import { platformFileServices } from '../../native/index.js';
import type { Output } from './output.js';

export async function cmdPluginCheck(args: { path: string; include?: string[]; json: boolean }, out: Output): Promise<number> {
  const full = resolve(args.path);
  const mod = admitModule(args.path, await import(pathToFileURL(full).href));
  const scratch = mkdtempSync(join(tmpdir(), 'cairn-plugin-check-'));
  try {
    const report = await runConformance(mod, { platform: platformFileServices(), scratch, include: args.include ?? [] });
    out.data(report, () =>
      [
        `agent ${report.agent} ${report.version} (API ${report.api})`,
        ...report.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.message ? `: ${c.message}` : ''}`),
        report.ok ? 'conformance: passed' : 'conformance: FAILED',
      ].join('\n'),
    );
    return report.ok ? 0 : 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
