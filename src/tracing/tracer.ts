import { ProxyTracerProvider, trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { describeValue, is, type Rule } from '../config/index.js';

/**
 * Where the package's spans go: `initDatabase({ tracing })`, `new DatabaseManager({ tracing })`. `false` turns
 * tracing off.
 *
 * @example
 * ```ts
 * await initDatabase({ tracing: { tracerProvider: provider } }); // a provider that is not the global one
 * ```
 */
export interface TracingOptions {
  /**
   * The OpenTelemetry tracer provider. Default: the global one (`trace.setGlobalTracerProvider()`, which an SDK's
   * `register()` / `NodeSDK.start()` calls), as found when the database is initialised.
   */
  tracerProvider?: TracerProvider;
}

const TRACING_OBJECT = is.object({
  tracerProvider: (value, key, fail) => {
    if (typeof (value as Partial<TracerProvider> | null)?.getTracer !== 'function') {
      fail(key, `expected an OpenTelemetry TracerProvider, got ${describeValue(value)}`);
    }
  },
});

/** The run-time shape of `tracing` (`false` or {@link TracingOptions}), for the options validator. @internal */
export const TRACING_OPTIONS_RULE: Rule = (value, key, fail) => {
  if (value !== false) TRACING_OBJECT(value, key, fail);
};

/** Name of the tracer (the instrumentation scope) spans of this package are created with. */
export const TRACER_NAME = '@spfn/core';

/** What the API hands out while no SDK is registered. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** True when an application registered a global tracer provider (an OpenTelemetry SDK). */
export function tracingRegistered(): boolean {
  const provider = trace.getTracerProvider();
  // A provider from another copy of the API is not our class: something registered it.
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
}

/**
 * The tracer to use, or undefined when nothing would record the spans: tracing turned off, or no SDK registered.
 * Decided once (at `init()`), so code without an SDK pays one branch per call and nothing else.
 * @internal
 */
export function resolveTracer(options: TracingOptions | false | undefined): Tracer | undefined {
  if (options === false) return undefined;
  if (options?.tracerProvider) return options.tracerProvider.getTracer(TRACER_NAME);
  return tracingRegistered() ? trace.getTracer(TRACER_NAME) : undefined;
}
