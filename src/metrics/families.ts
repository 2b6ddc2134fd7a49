import { Counter, Histogram, type Metric, type Registry } from 'prom-client';

/** Upper bounds in seconds for database and HTTP durations: 1 ms to 10 s. */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** One labelled series of a {@link CounterFamily}: `inc()` only adds to a number. @internal */
export interface CounterSeries {
  value: number;
}

/** One labelled series of a {@link HistogramFamily}. @internal */
export interface HistogramSeries {
  observe(seconds: number): void;
}

/** A family's name, help and label names. */
interface FamilySpec<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
}

type Labels<L extends string> = Readonly<Record<L, string>>;
type Value = Awaited<ReturnType<Histogram['get']>>['values'][number];

function keyOf<L extends string>(names: readonly L[], labels: Labels<L>): string {
  return names.length === 1 ? labels[names[0]!] : names.map((n) => labels[n]).join('\u0000');
}

/**
 * A prom-client counter whose series are plain numbers bumped on the hot path and read when the registry is
 * scraped: prom-client's own `inc()` hashes and validates the labels on every call, which costs more than the
 * statement bookkeeping around it. Label values must come from small fixed sets.
 * @internal
 */
export class CounterFamily<L extends string = string> extends Counter<L> {
  readonly #names: readonly L[];
  readonly #series = new Map<string, { labels: Labels<L>; data: CounterSeries }>();

  constructor(spec: FamilySpec<L>, registry: Registry) {
    super({ name: spec.name, help: spec.help, labelNames: [...spec.labelNames], registers: [registry] });
    this.#names = spec.labelNames;
  }

  /** The series of `labels`, created at zero the first time (so it is exported before it moves). */
  series(labels: Labels<L>): CounterSeries {
    const key = keyOf(this.#names, labels);
    let entry = this.#series.get(key);
    if (!entry) {
      entry = { labels: { ...labels }, data: { value: 0 } };
      this.#series.set(key, entry);
    }
    return entry.data;
  }

  override async get(): ReturnType<Counter<L>['get']> {
    const base = await super.get();
    // Only our series: prom-client's own map holds nothing but the zero series of an unlabelled counter.
    const values: typeof base.values = [];
    for (const { labels, data } of this.#series.values()) values.push({ labels: { ...labels }, value: data.value });
    return { ...base, values };
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor calls reset() before our fields exist.
    if (!(#series in this)) return;
    for (const { data } of this.#series.values()) data.value = 0;
  }
}

/** A sample as prom-client's histogram hands it to the registry (`sharedLabels` is merged in by `get()`). */
function shared(labels: Record<string, string | number>, value: number, metricName: string): Value {
  return { labels, value, metricName, sharedLabels: {} } as Value;
}

class Buckets implements HistogramSeries {
  readonly bounds: readonly number[];
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = bounds.map(() => 0);
  }

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  clear(): void {
    this.sum = 0;
    this.count = 0;
    this.counts.fill(0);
  }
}

/**
 * A prom-client histogram whose series are counted into plain arrays on the hot path and exported at scrape time
 * (see {@link CounterFamily} for why).
 * @internal
 */
export class HistogramFamily<L extends string = string> extends Histogram<L> {
  readonly #name: string;
  readonly #help: string;
  readonly #names: readonly L[];
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, { labels: Labels<L>; data: Buckets }>();

  constructor(spec: FamilySpec<L>, registry: Registry, buckets: readonly number[] = DURATION_BUCKETS) {
    super({
      name: spec.name,
      help: spec.help,
      labelNames: [...spec.labelNames],
      buckets: [...buckets],
      registers: [registry],
    });
    this.#name = spec.name;
    this.#help = spec.help;
    this.#names = spec.labelNames;
    this.#bounds = Object.freeze([...buckets].sort((a, b) => a - b));
  }

  /** The series of `labels`, created empty the first time. */
  series(labels: Labels<L>): HistogramSeries {
    const key = keyOf(this.#names, labels);
    let entry = this.#series.get(key);
    if (!entry) {
      entry = { labels: { ...labels }, data: new Buckets(this.#bounds) };
      this.#series.set(key, entry);
    }
    return entry.data;
  }

  /**
   * What prom-client's registry renders (and what its `get()` reshapes for JSON): our series, buckets cumulative,
   * then `+Inf`, `_sum` and `_count`.
   */
  getForPromString(): Promise<Awaited<ReturnType<Histogram<L>['get']>>> {
    const values: Value[] = [];
    const bucket = `${this.#name}_bucket`;
    for (const { labels, data } of this.#series.values()) {
      let cumulative = 0;
      data.bounds.forEach((le, i) => {
        cumulative += data.counts[i]!;
        values.push(shared({ ...labels, le }, cumulative, bucket));
      });
      values.push(
        shared({ ...labels, le: '+Inf' }, data.count, bucket),
        shared({ ...labels }, data.sum, `${this.#name}_sum`),
        shared({ ...labels }, data.count, `${this.#name}_count`),
      );
    }
    // prom-client's get() calls this method, so the base object is built here rather than taken from it.
    const result = { name: this.#name, help: this.#help, type: 'histogram', aggregator: 'sum', values };
    return Promise.resolve(result as unknown as Awaited<ReturnType<Histogram<L>['get']>>);
  }

  override reset(): void {
    super.reset();
    if (!(#series in this)) return;
    for (const { data } of this.#series.values()) data.clear();
  }
}

/**
 * The metrics registered in `registry` under names starting with `prefix`: ours, to put back with
 * {@link reRegister} if the application clears the registry (`register.clear()` between tests).
 * @internal
 */
export function ownedMetrics(registry: Registry, prefix: string): Map<string, Metric> {
  const owned = new Map<string, Metric>();
  for (const { name } of registry.getMetricsAsArray()) {
    const metric = registry.getSingleMetric(name);
    if (metric && name.startsWith(prefix)) owned.set(name, metric);
  }
  return owned;
}

/** Registers again, with the values they had, those of `owned` that are no longer in `registry`. @internal */
export function reRegister(registry: Registry, owned: ReadonlyMap<string, Metric>): void {
  for (const [name, metric] of owned) {
    if (registry.getSingleMetric(name) !== metric) registry.registerMetric(metric);
  }
}
