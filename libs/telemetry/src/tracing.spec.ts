import { context, propagation, trace } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTracing } from './tracing';

// The real OTLP/HTTP transport loads `http` with a dynamic import, which jest's
// VM refuses; a recording stand-in checks the wiring (URL, spans, flush on shutdown).
const exporters: Array<{ url: string | undefined; spans: ReadableSpan[] }> = [];
jest.mock('@opentelemetry/exporter-trace-otlp-http', () => ({
  OTLPTraceExporter: class {
    private readonly record: { url: string | undefined; spans: ReadableSpan[] };
    constructor(config: { url?: string }) {
      this.record = { url: config.url, spans: [] };
      exporters.push(this.record);
    }
    export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
      this.record.spans.push(...spans);
      done({ code: ExportResultCode.SUCCESS });
    }
    async shutdown(): Promise<void> {}
    async forceFlush(): Promise<void> {}
  },
}));

describe(startTracing.name, () => {
  beforeEach(() => {
    exporters.length = 0;
  });

  it('propagates W3C trace context across awaits, exporting nothing when no endpoint is set', async () => {
    // process.env names an endpoint, the env passed in does not: the argument wins.
    const previous = process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'http://127.0.0.1:9/';
    const tracing = startTracing('test-service', {});
    try {
      const incoming = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
      const outgoing: Record<string, string> = {};
      await context.with(propagation.extract(context.active(), incoming), async () => {
        const span = trace.getTracer('test').startSpan('work');
        await context.with(trace.setSpan(context.active(), span), async () => {
          await sleep(5);
          propagation.inject(context.active(), outgoing);
        });
        span.end();
      });
      // Same trace, a new (real, non-zero) span id for the hop.
      expect(outgoing['traceparent']).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-(?!b7ad6b7169203331)(?!0{16})[0-9a-f]{16}-01$/);
    } finally {
      await tracing.shutdown();
      if (previous === undefined) delete process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
      else process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = previous;
    }
    expect(exporters).toEqual([]);
  });

  it('without an endpoint records no spans yet gives each new trace a real, distinct trace id that propagates', async () => {
    const tracing = startTracing('test-service', {});
    try {
      const tracer = trace.getTracer('test');
      const first = tracer.startSpan('request');
      const second = tracer.startSpan('request');
      expect(first.isRecording()).toBe(false);
      expect(trace.isSpanContextValid(first.spanContext())).toBe(true);
      expect(first.spanContext().traceId).toMatch(/^(?!0{32})[0-9a-f]{32}$/);
      expect(second.spanContext().traceId).not.toBe(first.spanContext().traceId);
      const outgoing: Record<string, string> = {};
      context.with(trace.setSpan(context.active(), first), () => propagation.inject(context.active(), outgoing));
      expect(outgoing['traceparent']).toBe(`00-${first.spanContext().traceId}-${first.spanContext().spanId}-00`);
      // A service behind the bus continues that unrecorded trace (an incoming `-00` parent): same trace id, still not recorded.
      const child = context.with(propagation.extract(context.active(), outgoing), () => tracer.startSpan('bus handler'));
      expect(child.spanContext().traceId).toBe(first.spanContext().traceId);
      expect(child.isRecording()).toBe(false);
      child.end();
      first.end();
      second.end();
    } finally {
      await tracing.shutdown();
    }
  });

  it('exports spans over OTLP/HTTP to <endpoint>/v1/traces when OTEL_EXPORTER_OTLP_ENDPOINT is set', async () => {
    const tracing = startTracing('test-service', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' });
    trace.getTracer('test').startSpan('exported').end();
    await tracing.shutdown();
    expect(exporters).toHaveLength(1);
    expect(exporters[0]!.url).toBe('http://collector:4318/v1/traces');
    expect(exporters[0]!.spans.map((span) => span.name)).toEqual(['exported']);
    expect(exporters[0]!.spans[0]!.resource.attributes['service.name']).toBe('test-service');
  });

  it('prefers OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as the full URL', async () => {
    const tracing = startTracing('test-service', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel.example/traces' });
    await tracing.shutdown();
    expect(exporters.map((exporter) => exporter.url)).toEqual(['https://otel.example/traces']);
  });

  it('starts once per process and can start again after shutdown', async () => {
    const first = startTracing('test-service', {});
    expect(startTracing('another-name', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(first);
    expect(exporters).toEqual([]);
    await first.shutdown();
    const second = startTracing('test-service', {});
    expect(second).not.toBe(first);
    await second.shutdown();
  });
});
