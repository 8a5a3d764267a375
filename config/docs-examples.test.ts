import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isCairnError } from '../plugin-api/index.js';
import { parseConfig, type ConfigKind } from './index.js';

const KINDS: Record<string, ConfigKind> = { 'cairn-dir': 'dir', 'cairn-fd': 'fd', 'cairn-sd': 'sd', 'cairn-console': 'console' };

test('every full-file example in docs/config.md loads', () => {
  const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
  let checked = 0;
  for (const text of blocks) {
    const m = /^# yaml-language-server: \$schema=\S*\/(cairn-[a-z]+)\.schema\.json\n(?=.)/.exec(text);
    if (!m) continue;
    const kind = KINDS[m[1]];
    try {
      parseConfig(kind, text, `docs/config.md (${m[1]})`, { env: { CAIRN_LAPTOP_PW: 'x', CAIRN_CONSOLE_PW: 'y' } });
    } catch (err) {
      // The examples name secret files under /etc/cairn that this machine does not have: that is the only failure allowed.
      assert.ok(isCairnError(err) && err.code === 'CAIRN_E_CONFIG_SECRET' && /secret file \/etc\/cairn\//.test(err.message), `${m[1]} example: ${String((err as Error).message)}`);
    }
    checked++;
  }
  assert.equal(checked, 4, 'one full example per file kind');
});
