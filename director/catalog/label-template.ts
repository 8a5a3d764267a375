/**
 * Volume label templates: how a pool names the volumes it labels
 * (docs/catalog.md §Pools). A template is literal text with variables:
 *
 *   ${Pool}        the pool's name
 *   ${Year}        4-digit year        ${Month} ${Day} ${Hour}  2 digits
 *   ${Counter}     the pool's volume counter (1, 2, …)
 *   ${Counter:N}   the same, zero-padded to N digits (1–9)
 *
 * Dates are the labelling time in the Director's local time zone. Every
 * template must contain ${Counter}: it is what makes two names of one pool
 * differ. The tape part names its labels with the same function.
 */
import { CairnError } from '../../plugin-api/index.js';

export const DEFAULT_LABEL_TEMPLATE = '${Pool}-${Counter:4}';

export interface LabelContext {
  pool: string;
  counter: number;
  date: Date;
}

const VARIABLE = /\$\{([A-Za-z]+)(?::(\d+))?\}/g;
const NAMES = new Set(['Pool', 'Year', 'Month', 'Day', 'Hour', 'Counter']);
/** What a file device accepts as a volume name (sd/device/file-device.ts). */
const VOLUME_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

function templateError(template: string, why: string): CairnError {
  return new CairnError('CAIRN_E_CATALOG_LABEL_TEMPLATE', `label template "${template}": ${why}`, { template, why });
}

/** Throws CAIRN_E_CATALOG_LABEL_TEMPLATE unless `template` is well formed. */
export function checkLabelTemplate(template: string): void {
  let counter = false;
  for (const m of template.matchAll(VARIABLE)) {
    if (!NAMES.has(m[1])) throw templateError(template, `unknown variable \${${m[1]}} (known: ${[...NAMES].join(', ')})`);
    if (m[2] !== undefined && m[1] !== 'Counter') throw templateError(template, `only \${Counter} takes a width`);
    if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 9)) throw templateError(template, 'a counter width is 1 to 9 digits');
    if (m[1] === 'Counter') counter = true;
  }
  if (template.replace(VARIABLE, '').includes('${')) throw templateError(template, 'an unclosed or malformed ${…}');
  if (!counter) throw templateError(template, 'it must contain ${Counter} (or ${Counter:N}) so that names differ');
  const sample = expandUnchecked(template, { pool: 'Pool', counter: 1, date: new Date(0) });
  if (!VOLUME_NAME.test(sample.replace(/^Pool/, 'P'))) throw templateError(template, `it makes names like "${sample}": use letters, digits, '.', '_' and '-'`);
}

function expandUnchecked(template: string, ctx: LabelContext): string {
  const d = ctx.date;
  const two = (n: number) => String(n).padStart(2, '0');
  return template.replace(VARIABLE, (_all, name: string, width?: string) => {
    switch (name) {
      case 'Pool':
        return ctx.pool;
      case 'Year':
        return String(d.getFullYear()).padStart(4, '0');
      case 'Month':
        return two(d.getMonth() + 1);
      case 'Day':
        return two(d.getDate());
      case 'Hour':
        return two(d.getHours());
      default:
        return width === undefined ? String(ctx.counter) : String(ctx.counter).padStart(Number(width), '0');
    }
  });
}

/** The name `template` gives for this pool, counter and time. */
export function expandLabelTemplate(template: string, ctx: LabelContext): string {
  checkLabelTemplate(template);
  const name = expandUnchecked(template, ctx);
  if (!VOLUME_NAME.test(name)) throw templateError(template, `it made "${name}", which is not a valid volume name`);
  return name;
}
