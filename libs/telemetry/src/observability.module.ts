import { DynamicModule, Global, Module } from '@nestjs/common';
import { HealthRegistry } from './health.registry';
import { MetricsRegistry } from './metrics';
import { ObservabilityController } from './observability.controller';
import { LOGGER, OBSERVABILITY_OPTIONS, type ObservabilityOptions } from './observability.options';

export { LOGGER, OBSERVABILITY_OPTIONS, type ObservabilityOptions } from './observability.options';

/**
 * Import once in each app's root module: `ObservabilityModule.forRoot({ service, logger })`.
 * Global, so features inject `LOGGER`, `HealthRegistry` and `MetricsRegistry` without importing it.
 */
@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityOptions): DynamicModule {
    return {
      module: ObservabilityModule,
      controllers: [ObservabilityController],
      providers: [
        { provide: OBSERVABILITY_OPTIONS, useValue: options },
        { provide: LOGGER, useValue: options.logger },
        HealthRegistry,
        {
          provide: MetricsRegistry,
          useFactory: () => new MetricsRegistry({ defaultLabels: { service: options.service } }),
        },
      ],
      exports: [LOGGER, HealthRegistry, MetricsRegistry, OBSERVABILITY_OPTIONS],
    };
  }
}
