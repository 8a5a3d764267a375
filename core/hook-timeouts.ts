/**
 * Hook timeouts the host applies on top of plugin-api's defaults (HOOKS).
 * An admin (or a test) may shorten or lengthen them all with
 * CAIRN_HOOK_TIMEOUT_MS; the FD's settings may set them per hook.
 */
import { HOOKS, type HookName } from '../plugin-api/index.js';

export type HookTimeouts = Partial<Record<HookName, number>>;

export function hookTimeouts(overrides: HookTimeouts = {}, env: NodeJS.ProcessEnv = process.env): HookTimeouts {
  const all = Number(env.CAIRN_HOOK_TIMEOUT_MS);
  const out: HookTimeouts = {};
  if (Number.isFinite(all) && all > 0) for (const h of Object.keys(HOOKS) as HookName[]) out[h] = all;
  return { ...out, ...overrides };
}
