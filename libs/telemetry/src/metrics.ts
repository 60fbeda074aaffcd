import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface MetricsRegistryOptions {
  /** Labels added to every series of this app's metrics, e.g. `{ service: 'edge-proxy' }`. */
  defaultLabels?: Record<string, string>;
}

// collectDefaultMetrics starts GC and event-loop observers, so it runs once per
// process even when all-in-one hosts several apps (each with its own
// registry) or a bundler loads this module twice: hence a global, not a module variable.
const PROCESS_REGISTRY = Symbol.for('portcullis.telemetry.processMetricsRegistry');

function processRegistry(): Registry {
  const holder = globalThis as typeof globalThis & { [PROCESS_REGISTRY]?: Registry };
  let registry = holder[PROCESS_REGISTRY];
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
    holder[PROCESS_REGISTRY] = registry;
  }
  return registry;
}

type MetricConstructor = typeof Counter | typeof Gauge | typeof Histogram;

/**
 * One prom-client registry per app. `/metrics` serves this registry's
 * metrics followed by the process metrics shared by every app in the process.
 * Asking twice for the same metric returns the first one, so features can
 * declare their metrics where they use them.
 */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();
  readonly contentType: string = Registry.PROMETHEUS_CONTENT_TYPE;
  private readonly process = processRegistry();

  constructor(options: MetricsRegistryOptions = {}) {
    if (options.defaultLabels) this.registry.setDefaultLabels(options.defaultLabels);
  }

  /** `collect`, when given, runs at every scrape to bring the counter up to a total kept elsewhere. */
  counter<L extends string = string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (counter: Counter<L>) => void | Promise<void>): Counter<L> {
    return (
      this.existing(name, Counter, labelNames) ??
      new Counter<L>({ name, help, labelNames, registers: [this.registry], ...(collect ? { collect(this: Counter<L>) { return collect(this); } } : {}) })
    );
  }

  /** `collect`, when given, runs at every scrape to set the gauge from its source (a queue length, a lag). */
  gauge<L extends string = string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (gauge: Gauge<L>) => void | Promise<void>): Gauge<L> {
    return (
      this.existing(name, Gauge, labelNames) ??
      new Gauge<L>({ name, help, labelNames, registers: [this.registry], ...(collect ? { collect(this: Gauge<L>) { return collect(this); } } : {}) })
    );
  }

  histogram<L extends string = string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    buckets?: number[],
  ): Histogram<L> {
    return (
      this.existing(name, Histogram, labelNames) ??
      new Histogram<L>({ name, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}) })
    );
  }

  /**
   * Prometheus text exposition: this app's metrics, then the process metrics.
   * Concatenated rather than `Registry.merge`d because a merged registry drops
   * this registry's default labels.
   */
  async metrics(): Promise<string> {
    const parts = await Promise.all([this.registry.metrics(), this.process.metrics()]);
    return parts
      .map((text) => text.trim())
      .filter((text) => text.length > 0)
      .map((text) => `${text}\n`)
      .join('');
  }

  private existing<M>(name: string, type: MetricConstructor, labelNames: readonly string[]): M | undefined {
    if (this.process.getSingleMetric(name)) {
      throw new TypeError(`metric "${name}" is a process metric; choose another name`);
    }
    const metric = this.registry.getSingleMetric(name);
    if (!metric) return undefined;
    if (!(metric instanceof type)) {
      throw new TypeError(`metric "${name}" is already registered as a ${metric.constructor.name}`);
    }
    const registered = (metric as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
    if ([...registered].sort().join(',') !== [...labelNames].sort().join(',')) {
      throw new TypeError(`metric "${name}" is already registered with labels [${registered.join(', ')}]`);
    }
    return metric as M;
  }
}
