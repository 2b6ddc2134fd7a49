import { Gauge, type Metric, type Registry } from 'prom-client';
import {
  CounterFamily,
  HistogramFamily,
  ownedMetrics,
  reRegister,
  type CounterSeries,
  type HistogramSeries,
} from '../metrics/index.js';

/** Request metrics of the HTTP server, in one prom-client registry. @internal */
export class HttpMetrics {
  readonly #requests: CounterFamily<'method' | 'status'>;
  readonly #duration: HistogramFamily<'method'>;
  /** Series looked up by `method status` and `method`: a few dozen at most (methods × statuses seen). */
  readonly #requestSeries = new Map<string, CounterSeries>();
  readonly #durationSeries = new Map<string, HistogramSeries>();
  inFlight = 0;
  readonly #registry: Registry;
  readonly #owned: ReadonlyMap<string, Metric>;

  constructor(registry: Registry) {
    this.#registry = registry;
    this.#requests = new CounterFamily(
      {
        name: 'spfn_http_requests_total',
        help: 'HTTP requests answered, by method and status',
        labelNames: ['method', 'status'],
      },
      registry,
    );
    this.#duration = new HistogramFamily(
      { name: 'spfn_http_request_duration_seconds', help: 'HTTP request duration, by method', labelNames: ['method'] },
      registry,
    );
    const inFlight = (): number => this.inFlight;
    new Gauge({
      name: 'spfn_http_requests_in_flight',
      help: 'HTTP requests being served',
      registers: [registry],
      collect() {
        this.set(inFlight());
      },
    });
    this.#owned = ownedMetrics(registry, 'spfn_http_');
  }

  /** Puts the metrics back into a registry the application cleared. */
  ensureRegistered(): void {
    reRegister(this.#registry, this.#owned);
  }

  /** One answered request. */
  request(method: string, status: number, seconds: number): void {
    const key = `${method} ${status}`;
    let count = this.#requestSeries.get(key);
    if (!count) {
      count = this.#requests.series({ method, status: String(status) });
      this.#requestSeries.set(key, count);
    }
    count.value++;
    let duration = this.#durationSeries.get(method);
    if (!duration) {
      duration = this.#duration.series({ method });
      this.#durationSeries.set(method, duration);
    }
    duration.observe(seconds);
  }
}

const byRegistry = new WeakMap<Registry, HttpMetrics>();

/** The HTTP metrics of `registry`, created on first use. @internal */
export function httpMetrics(registry: Registry): HttpMetrics {
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    metrics = new HttpMetrics(registry);
    byRegistry.set(registry, metrics);
  } else {
    metrics.ensureRegistered();
  }
  return metrics;
}
