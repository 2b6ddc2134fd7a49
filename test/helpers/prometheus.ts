/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: samples, and the declared type of each family. */
export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  /** Sum of the samples of `name` whose labels include `match`. */
  sum(name: string, match?: Record<string, string>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  // prom-client writes `Nan`; Prometheus parses floats like Go's ParseFloat, case-insensitively.
  if (text.toLowerCase() === 'nan') return NaN;
  const n = Number(text);
  if (text.trim() === '' || Number.isNaN(n)) throw new Error(`bad sample value "${text}"`);
  return n;
}

function parseLabels(text: string | undefined, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) throw new Error(`bad labels in "${line}"`);
    labels[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
  return labels;
}

/**
 * A strict parser of the Prometheus text format 0.0.4: every line is a HELP, a TYPE or a sample; every sample
 * belongs to a family declared by TYPE before it; histogram buckets are cumulative and end with +Inf = _count.
 */
export function parsePrometheus(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split('\n')) {
    // prom-client separates families with an empty line.
    if (line === '' || line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (!name || !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type ?? '')) {
        throw new Error(`bad TYPE line "${line}"`);
      }
      if (types.has(name)) throw new Error(`family ${name} declared twice`);
      types.set(name, type!);
      continue;
    }
    if (line.startsWith('#')) throw new Error(`unexpected line "${line}"`);
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`bad sample line "${line}"`);
    const name = m[1]!;
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    const type = types.get(family);
    if (!type) throw new Error(`sample ${name} has no TYPE`);
    if (family !== name && type !== 'histogram' && type !== 'summary') throw new Error(`${name} is not a ${type}`);
    const value = parseValue(m[4]!);
    if (type === 'counter' && !(value >= 0)) throw new Error(`counter ${name} is ${value}`);
    samples.push({ name, labels: parseLabels(m[3], line), value });
  }
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${family} bucket without le`);
      const key = JSON.stringify(rest);
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      let previous = -Infinity;
      let last = -1;
      for (const b of buckets) {
        const le = parseValue(b.labels.le!);
        if (le <= previous || b.value < last) throw new Error(`${family}${key} buckets not cumulative`);
        previous = le;
        last = b.value;
      }
      if (previous !== Infinity) throw new Error(`${family}${key} has no +Inf bucket`);
      const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(s.labels) === key);
      if (!count || count.value !== last) throw new Error(`${family}${key}: +Inf bucket differs from _count`);
    }
  }
  return {
    samples,
    types,
    sum(name, match = {}) {
      return samples
        .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
        .reduce((acc, s) => acc + s.value, 0);
    },
  };
}

/** How many connections of `pool` were ended in doubt so far, from prom-client's default registry. */
export async function destroyedConnections(pool = 'primary'): Promise<number> {
  const { register } = await import('prom-client');
  return parsePrometheus(await register.metrics()).sum('spfn_db_connections_destroyed_total', { pool });
}
