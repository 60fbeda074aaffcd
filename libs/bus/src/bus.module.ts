import { DynamicModule, Global, Inject, Module, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { HealthRegistry } from '@portcullis/telemetry';
import { Bus } from './bus';

export interface BusModuleOptions {
  bus: Bus;
  /** Whether closing this Nest app closes the bus (false when several apps share one bus). */
  closeOnShutdown: boolean;
}

const BUS_MODULE_OPTIONS = Symbol('BUS_MODULE_OPTIONS');

/** Makes one `Bus` injectable everywhere in an app and reports it in readiness. */
@Global()
@Module({})
export class BusModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(BUS_MODULE_OPTIONS) private readonly options: BusModuleOptions,
    @Optional() private readonly health?: HealthRegistry,
  ) {}

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
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.options.closeOnShutdown) await this.options.bus.close();
  }
}
