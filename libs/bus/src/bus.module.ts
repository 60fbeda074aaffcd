import { DynamicModule, Global, Inject, Module, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { HealthRegistry, MetricsRegistry, OBSERVABILITY_OPTIONS, type ObservabilityOptions } from '@portcullis/telemetry';
import { Bus } from './bus';

export interface BusModuleOptions {
  bus: Bus;
  /** Whether closing this Nest app closes the bus (false when several apps share one bus). */
  closeOnShutdown: boolean;
}

const BUS_MODULE_OPTIONS = Symbol('BUS_MODULE_OPTIONS');

/**
 * Makes one `Bus` injectable everywhere in an app, reports it in readiness,
 * and measures the requests this service's handlers answer
 * (`portcullis_bus_handler_duration_seconds{subject, outcome}`; handlers in
 * the queue group named after the service, so all-in-one's apps sharing one
 * bus each report their own).
 */
@Global()
@Module({})
export class BusModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(BUS_MODULE_OPTIONS) private readonly options: BusModuleOptions,
    @Optional() private readonly health?: HealthRegistry,
    @Optional() private readonly metrics?: MetricsRegistry,
    @Optional() @Inject(OBSERVABILITY_OPTIONS) private readonly observability?: ObservabilityOptions,
  ) {}

  private stopObserving?: () => void;

  static forRoot(options: BusModuleOptions): DynamicModule {
    return {
      module: BusModule,
      providers: [
        { provide: BUS_MODULE_OPTIONS, useValue: options },
        { provide: Bus, useValue: options.bus },
      ],
      exports: [Bus],
    };
  }

  onModuleInit(): void {
    this.health?.register(`bus:${this.options.bus.transportName}`, () => this.options.bus.ping());
    const service = this.observability?.service;
    if (this.metrics && service) {
      const duration = this.metrics.histogram(
        'portcullis_bus_handler_duration_seconds',
        'Time this service took to answer a bus request, by subject and outcome (ok or the error code)',
        ['subject', 'outcome'],
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      );
      this.stopObserving = this.options.bus.observeHandlers(({ subject, queue, seconds, outcome }) => {
        if (queue === service) duration.observe({ subject, outcome }, seconds);
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopObserving?.();
    if (this.options.closeOnShutdown) await this.options.bus.close();
  }
}
