import { context, propagation, trace } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOffSampler, BatchSpanProcessor, NoopSpanProcessor, ParentBasedSampler, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface TracingHandle {
  /** Flushes pending spans and unregisters tracing; a later `startTracing` starts afresh. */
  shutdown(): Promise<void>;
}

// One SDK per process (all-in-one hosts every service in one process and
// calls this once); a global survives the module being loaded twice.
const ACTIVE = Symbol.for('portcullis.telemetry.tracing');
type Holder = typeof globalThis & { [ACTIVE]?: TracingHandle };

/**
 * Starts OpenTelemetry: W3C trace-context (and baggage) propagation and an
 * AsyncLocalStorage context manager always, so trace ids flow through the bus
 * and outbound calls even when nothing is exported; an OTLP/HTTP exporter only
 * when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set in `env`.
 * No auto-instrumentation. Idempotent: later calls return the first handle.
 */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): TracingHandle {
  const holder = globalThis as Holder;
  const running = holder[ACTIVE];
  if (running) return running;

  const url = tracesUrl(env);
  // A processor that drops spans still gives a real tracer provider, so
  // spans get ids and child spans continue the incoming trace.
  const spanProcessor: SpanProcessor = url
    ? new BatchSpanProcessor(new OTLPTraceExporter({ url }))
    : new NoopSpanProcessor();

  const sdk = new NodeSDK({
    serviceName,
    spanProcessors: [spanProcessor],
    // Nothing exported: a new trace's spans are not recorded (no attributes,
    // events or timing kept), yet they still get real generated trace and span
    // ids (audit events carry the trace id) and propagate; an incoming sampled
    // `traceparent` is still honoured (ParentBased's defaults for a parent).
    ...(url ? {} : { sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }) }),
    // Explicit and empty, else NodeSDK reads OTEL_LOGS_EXPORTER and defaults to an OTLP log exporter.
    logRecordProcessors: [],
    textMapPropagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
    // contextManager left undefined: NodeSDK registers AsyncLocalStorageContextManager.
    instrumentations: [],
  });
  sdk.start();

  let stopping: Promise<void> | undefined;
  const handle: TracingHandle = {
    shutdown: () =>
      (stopping ??= sdk.shutdown().finally(() => {
        trace.disable();
        context.disable();
        propagation.disable();
        if (holder[ACTIVE] === handle) delete holder[ACTIVE];
      })),
  };
  holder[ACTIVE] = handle;
  return handle;
}

function tracesUrl(env: NodeJS.ProcessEnv): string | undefined {
  const signal = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim();
  if (signal) return signal;
  const base = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}
