import { DynamicModule, Inject, Module, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { HealthRegistry } from '@portcullis/telemetry';
import { DataSource } from 'typeorm';
import { openSchemaDataSource, SchemaDataSourceOptions } from './schema-data-source';

/** Provides the service's `DataSource` (migrated at start) and reports it in readiness. */
@Module({})
export class PersistenceModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Optional() private readonly health?: HealthRegistry,
  ) {}

  static forSchema(options: SchemaDataSourceOptions): DynamicModule {
    return {
      module: PersistenceModule,
      // Global within one Nest app: every feature module of the service shares its one data source.
      global: true,
      providers: [{ provide: DataSource, useFactory: () => openSchemaDataSource(options) }],
      exports: [DataSource],
    };
  }

  onModuleInit(): void {
    this.health?.register('database', async () => {
      await this.dataSource.query('SELECT 1');
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
