import { Counter } from 'prom-client';
import { MetricsRegistry } from './metrics';

describe(MetricsRegistry.name, () => {
  describe('counter', () => {
    it('returns the existing metric when asked twice', () => {
      const metrics = new MetricsRegistry();
      const a = metrics.counter('tool_calls_total', 'Tool calls', ['outcome']);
      const b = metrics.counter('tool_calls_total', 'Tool calls', ['outcome']);
      expect(b).toBe(a);
      expect(a).toBeInstanceOf(Counter);
    });

    it('refuses the same name with another type or other labels', () => {
      const metrics = new MetricsRegistry();
      metrics.counter('x_total', 'x', ['a']);
      expect(() => metrics.histogram('x_total', 'x', ['a'])).toThrow(TypeError);
      expect(() => metrics.counter('x_total', 'x', ['b'])).toThrow(TypeError);
      expect(() => metrics.counter('process_cpu_seconds_total', 'clash')).toThrow(TypeError);
    });
  });

  describe('metrics', () => {
    it('serves its own metrics with default labels plus the process metrics', async () => {
      const metrics = new MetricsRegistry({ defaultLabels: { service: 'registry' } });
      metrics.counter('registry_lookups_total', 'Lookups', ['result']).inc({ result: 'hit' }, 2);
      metrics.histogram('registry_lookup_seconds', 'Lookup time', [], [0.1, 1]).observe(0.05);
      const text = await metrics.metrics();
      expect(text).toContain('registry_lookups_total{result="hit",service="registry"} 2');
      expect(text).toContain('registry_lookup_seconds_bucket{le="0.1",service="registry"} 1');
      expect(text).toContain('process_cpu_seconds_total');
      expect(text).toContain('nodejs_eventloop_lag_seconds');
    });

    it('keeps registries of apps sharing a process apart but shares the process metrics', async () => {
      const edge = new MetricsRegistry();
      const audit = new MetricsRegistry();
      edge.counter('edge_only_total', 'x').inc();
      const auditText = await audit.metrics();
      expect(auditText).not.toContain('edge_only_total');
      expect(auditText.match(/^# TYPE process_cpu_seconds_total/gm)).toHaveLength(1);
      expect(edge.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    });
  });
});
