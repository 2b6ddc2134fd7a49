/** Label names and values of one series. */
export type Labels = Readonly<Record<string, string>>;

type Kind = 'counter' | 'gauge' | 'histogram';

interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  render(out: string[]): void;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Seconds buckets for database and HTTP durations: 1 ms to 10 s. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

abstract class Metric<TSeries> implements Family {
  readonly name: string;
  readonly help: string;
  abstract readonly kind: Kind;
  protected readonly labelNames: readonly string[];
  protected readonly series = new Map<string, { values: string[]; data: TSeries }>();

  constructor(name: string, help: string, labelNames: readonly string[]) {
    if (!NAME.test(name)) throw new TypeError(`Invalid metric name "${name}"`);
    for (const l of labelNames) {
      if (!LABEL.test(l) || l === 'le') throw new TypeError(`Invalid label name "${l}" on ${name}`);
    }
    this.name = name;
    this.help = help;
    this.labelNames = Object.freeze([...labelNames]);
  }

  protected abstract create(): TSeries;

  protected get(labels: Labels | undefined): TSeries {
    const values = this.labelNames.map((n) => labels?.[n] ?? '');
    const key = values.join('\u0000');
    let entry = this.series.get(key);
    if (!entry) {
      entry = { values, data: this.create() };
      this.series.set(key, entry);
    }
    return entry.data;
  }

  /** Forgets every series (for gauges refreshed at each scrape, and tests). */
  reset(): void {
    this.series.clear();
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.kind}`);
    for (const { values, data } of this.series.values()) this.renderSeries(out, values, data);
  }

  protected abstract renderSeries(out: string[], values: string[], data: TSeries): void;
}

/** A monotonically increasing count. */
export class Counter extends Metric<{ value: number }> {
  readonly kind = 'counter';

  protected create(): { value: number } {
    return { value: 0 };
  }

  /** Adds `by` (default 1, must be ≥ 0) to the series of `labels`. */
  inc(labels?: Labels, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`${this.name}: a counter only goes up`);
    this.get(labels).value += by;
  }

  /** The current value of one series (0 when never incremented). */
  value(labels?: Labels): number {
    return this.get(labels).value;
  }

  protected renderSeries(out: string[], values: string[], data: { value: number }): void {
    out.push(`${this.name}${labelText(this.labelNames, values)} ${formatNumber(data.value)}`);
  }
}

/** A value that goes up and down. */
export class Gauge extends Metric<{ value: number }> {
  readonly kind = 'gauge';

  protected create(): { value: number } {
    return { value: 0 };
  }

  set(labels: Labels | undefined, value: number): void {
    this.get(labels).value = value;
  }

  inc(labels?: Labels, by = 1): void {
    this.get(labels).value += by;
  }

  dec(labels?: Labels, by = 1): void {
    this.get(labels).value -= by;
  }

  value(labels?: Labels): number {
    return this.get(labels).value;
  }

  protected renderSeries(out: string[], values: string[], data: { value: number }): void {
    out.push(`${this.name}${labelText(this.labelNames, values)} ${formatNumber(data.value)}`);
  }
}

interface HistogramSeries {
  counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into cumulative buckets, with their sum and count. */
export class Histogram extends Metric<HistogramSeries> {
  readonly kind = 'histogram';
  readonly #buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[] = DEFAULT_BUCKETS) {
    super(name, help, labelNames);
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((b, i) => !Number.isFinite(b) || (i > 0 && b === sorted[i - 1]))) {
      throw new TypeError(`${name}: buckets must be distinct finite numbers`);
    }
    this.#buckets = Object.freeze(sorted);
  }

  protected create(): HistogramSeries {
    return { counts: this.#buckets.map(() => 0), sum: 0, count: 0 };
  }

  observe(labels: Labels | undefined, value: number): void {
    const s = this.get(labels);
    s.sum += value;
    s.count++;
    const i = this.#buckets.findIndex((b) => value <= b);
    if (i >= 0) s.counts[i]!++;
  }

  /** Count and sum of one series. */
  snapshot(labels?: Labels): { count: number; sum: number } {
    const s = this.get(labels);
    return { count: s.count, sum: s.sum };
  }

  protected renderSeries(out: string[], values: string[], data: HistogramSeries): void {
    let cumulative = 0;
    this.#buckets.forEach((bound, i) => {
      cumulative += data.counts[i]!;
      out.push(`${this.name}_bucket${labelText(this.labelNames, values, `le="${formatNumber(bound)}"`)} ${cumulative}`);
    });
    out.push(`${this.name}_bucket${labelText(this.labelNames, values, 'le="+Inf"')} ${data.count}`);
    out.push(`${this.name}_sum${labelText(this.labelNames, values)} ${formatNumber(data.sum)}`);
    out.push(`${this.name}_count${labelText(this.labelNames, values)} ${data.count}`);
  }
}

/**
 * A set of metrics rendered together in the Prometheus text exposition format (version 0.0.4). Collectors run
 * before each render to refresh values read from elsewhere (pool gauges).
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry();
 * const jobs = registry.counter('app_jobs_total', 'Jobs run', ['queue']);
 * jobs.inc({ queue: 'mail' });
 * registry.render(); // "# HELP app_jobs_total Jobs run\n# TYPE app_jobs_total counter\napp_jobs_total{queue=\"mail\"} 1\n"
 * ```
 */
export class MetricsRegistry {
  readonly #families = new Map<string, Family>();
  readonly #collectors = new Set<() => void>();

  /** The Content-Type of {@link render}'s output. */
  static readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.#add(new Gauge(name, help, labelNames));
  }

  /** A histogram; `buckets` are upper bounds (default {@link DEFAULT_BUCKETS}, in seconds). */
  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets?: readonly number[]): Histogram {
    return this.#add(new Histogram(name, help, labelNames, buckets));
  }

  /** Runs `collect` before every render; returns a function that removes it. */
  addCollector(collect: () => void): () => void {
    this.#collectors.add(collect);
    return () => this.#collectors.delete(collect);
  }

  /** Every metric as Prometheus text. A collector that throws is skipped; the rest still render. */
  render(): string {
    for (const collect of this.#collectors) {
      try {
        collect();
      } catch {
        // A failing collector (a pool closing mid-scrape) must not take the whole endpoint down.
      }
    }
    const out: string[] = [];
    for (const family of this.#families.values()) family.render(out);
    return out.join('\n') + '\n';
  }

  #add<M extends Family>(metric: M): M {
    if (this.#families.has(metric.name)) throw new TypeError(`Metric "${metric.name}" is already registered`);
    this.#families.set(metric.name, metric);
    return metric;
  }
}
