import { DataSource } from 'typeorm';

export interface SchemaDataSourceOptions {
  url: string;
  /** The service's own schema; it owns every table in it and no other. */
  schema: string;
  entities: NonNullable<ConstructorParameters<typeof DataSource>[0]['entities']>;
  migrations: Function[];
  poolSize?: number;
  applicationName?: string;
}

const SCHEMA_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/**
 * Opens a data source bound to one schema and brings that schema up to date.
 * Migrations run under a Postgres advisory lock so replicas starting together
 * migrate once; `synchronize` is never used.
 */
export async function openSchemaDataSource(options: SchemaDataSourceOptions): Promise<DataSource> {
  if (!SCHEMA_NAME.test(options.schema)) throw new TypeError(`invalid schema name ${options.schema}`);
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.url,
    schema: options.schema,
    entities: options.entities,
    migrations: options.migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    applicationName: options.applicationName ?? `portcullis-${options.schema}`,
    // search_path makes unqualified names in migrations and queries land in the service's schema.
    extra: { max: options.poolSize ?? 10, connectionTimeoutMillis: 5000, options: `-c search_path=${options.schema}` },
  });
  await dataSource.initialize();
  try {
    await migrateSchema(dataSource, options.schema);
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}

async function migrateSchema(dataSource: DataSource, schema: string): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [`portcullis.migrate.${schema}`]);
    try {
      // Checked first: CREATE SCHEMA needs CREATE on the database even when the schema exists, which a
      // least-privilege service role (e.g. the audit writer) does not have once the owner has migrated.
      const [{ present }]: { present: boolean }[] = await runner.query('SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS "present"', [schema]);
      if (!present) await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`portcullis.migrate.${schema}`]);
    }
  } finally {
    await runner.release();
  }
}
