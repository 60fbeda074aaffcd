export * from './schema-data-source';
export * from './persistence.module';
export * from './embedded-postgres';
