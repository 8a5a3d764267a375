/**
 * The Prometheus text exposition format (version 0.0.4): families of
 * counters and gauges with HELP and TYPE lines, label values escaped. Small
 * on purpose: the daemons expose a few dozen series.
 */

export type Labels = Record<string, string | number>;

export interface Sample {
  labels?: Labels;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

export class MetricsText {
  private readonly out: string[] = [];
  private readonly seen = new Set<string>();

  counter(name: string, help: string, samples: Sample[] | number): this {
    return this.family('counter', name, help, samples);
  }

  gauge(name: string, help: string, samples: Sample[] | number): this {
    return this.family('gauge', name, help, samples);
  }

  toString(): string {
    return this.out.join('\n') + '\n';
  }

  private family(type: 'counter' | 'gauge', name: string, help: string, samples: Sample[] | number): this {
    if (!NAME.test(name)) throw new RangeError(`bad metric name ${name}`);
    if (this.seen.has(name)) throw new RangeError(`metric ${name} given twice`);
    this.seen.add(name);
    this.out.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    for (const s of typeof samples === 'number' ? [{ value: samples }] : samples) {
      const labels = Object.entries(s.labels ?? {});
      for (const [k] of labels) if (!LABEL.test(k)) throw new RangeError(`bad label name ${k} on ${name}`);
      const l = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeValue(String(v))}"`).join(',')}}` : '';
      this.out.push(`${name}${l} ${formatNumber(s.value)}`);
    }
    return this;
  }
}
