import { DynamicModule, Module } from '@nestjs/common';
import { Bus, BusModule } from '@portcullis/bus';
import { PersistenceModule } from '@portcullis/persistence';
import { Logger, ObservabilityModule } from '@portcullis/telemetry';
import { Clock } from './clock';
import { AUDIT_SCHEMA, AuditEventEntity } from './events/audit-event.entity';
import { EventsModule } from './events/events.module';
import { auditMigrations } from './migrations';
import { PartitionsModule } from './partitions/partitions.module';

export interface AuditModuleOptions {
  bus: Bus;
  /** Whether closing this app closes the bus (false when all-in-one shares one bus between apps). */
  closeBusOnShutdown: boolean;
  logger: Logger;
  databaseUrl: string;
  /** The time source (what `recorded_at`, hence the partition, follows); tests pass a movable one. */
  clock?: Clock;
}

/** The whole audit service: the stream consumer and the compliance API under `/api/v1/audit`. */
@Module({})
export class AuditModule {
  static register(options: AuditModuleOptions): DynamicModule {
    return {
      module: AuditModule,
      // Global so every feature module gets the one Clock.
      global: true,
      imports: [
        ObservabilityModule.forRoot({ service: 'audit', logger: options.logger }),
        BusModule.forRoot({ bus: options.bus, closeOnShutdown: options.closeBusOnShutdown }),
        PersistenceModule.forSchema({
          url: options.databaseUrl,
          schema: AUDIT_SCHEMA,
          entities: [AuditEventEntity],
          migrations: auditMigrations,
        }),
        EventsModule,
        PartitionsModule,
      ],
      providers: [{ provide: Clock, useValue: options.clock ?? new Clock() }],
      exports: [Clock],
    };
  }
}
