import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '@spfn/core/server';
import { parsePrometheus } from '../helpers/prometheus.js';

describe('MetricsRegistry', () => {
  it('renders counters, gauges and histograms as parseable Prometheus text', () => {
    const registry = new MetricsRegistry();
    const c = registry.counter('t_requests_total', 'Requests\nwith a newline', ['path']);
    const g = registry.gauge('t_temperature', 'Temperature');
    const h = registry.histogram('t_latency_seconds', 'Latency', ['route'], [0.1, 1]);
    c.inc({ path: 'a"b\\c\nd' });
    c.inc({ path: 'a"b\\c\nd' }, 2);
    g.set(undefined, -3.5);
    h.observe({ route: 'x' }, 0.05);
    h.observe({ route: 'x' }, 0.5);
    h.observe({ route: 'x' }, 5);
    const text = registry.render();
    expect(text).toContain('# HELP t_requests_total Requests\\nwith a newline');
    const parsed = parsePrometheus(text);
    expect(parsed.samples.find((s) => s.name === 't_requests_total')).toEqual({
      name: 't_requests_total',
      labels: { path: 'a"b\\c\nd' },
      value: 3,
    });
    expect(parsed.sum('t_temperature')).toBe(-3.5);
    const buckets = parsed.samples.filter((s) => s.name === 't_latency_seconds_bucket').map((s) => s.value);
    expect(buckets).toEqual([1, 2, 3]);
    expect(parsed.sum('t_latency_seconds_sum')).toBeCloseTo(5.55);
  });

  it('refuses bad names, labels, buckets and decreasing counters', () => {
    const registry = new MetricsRegistry();
    expect(() => registry.counter('bad name', 'x')).toThrow(TypeError);
    expect(() => registry.counter('ok_total', 'x', ['le'])).toThrow(TypeError);
    expect(() => registry.histogram('h', 'x', [], [1, 1])).toThrow(TypeError);
    expect(() => registry.counter('c_total', 'x').inc(undefined, -1)).toThrow(RangeError);
  });

  it('runs collectors before rendering and survives one that throws', () => {
    const registry = new MetricsRegistry();
    const g = registry.gauge('t_collected', 'Collected');
    let n = 0;
    registry.addCollector(() => {
      throw new Error('pool closing');
    });
    const remove = registry.addCollector(() => g.set(undefined, ++n));
    expect(parsePrometheus(registry.render()).sum('t_collected')).toBe(1);
    expect(parsePrometheus(registry.render()).sum('t_collected')).toBe(2);
    remove();
    expect(parsePrometheus(registry.render()).sum('t_collected')).toBe(2);
  });
});
