import { createTestDatabase, TestDatabase } from '@portcullis/testing';
import { MigrationInterface, QueryRunner } from 'typeorm';
import { openSchemaDataSource } from './schema-data-source';

class CreateWidgets1700000000000 implements MigrationInterface {
  name = 'CreateWidgets1700000000000';
  async up(runner: QueryRunner): Promise<void> {
    // Slow on purpose: replicas starting together must still migrate once.
    await runner.query('SELECT pg_sleep(0.2)');
    await runner.query('CREATE TABLE widgets (id serial PRIMARY KEY, name text NOT NULL)');
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE widgets');
  }
}

describe(openSchemaDataSource.name, () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('persistence');
  });
  afterAll(async () => {
    await database.drop();
  });

  const open = (schema: string) => openSchemaDataSource({ url: database.url, schema, entities: [], migrations: [CreateWidgets1700000000000] });

  it('creates the schema and runs its migrations inside it', async () => {
    const dataSource = await open('widgets_a');
    try {
      const tables = await dataSource.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'widgets_a' ORDER BY 1`);
      expect(tables.map((t: { table_name: string }) => t.table_name)).toEqual(['migrations', 'widgets']);
      const publicTables = await dataSource.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`);
      expect(publicTables).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
  });

  it('migrates once when several replicas start at the same time', async () => {
    const replicas = await Promise.all([open('widgets_b'), open('widgets_b'), open('widgets_b')]);
    try {
      const runs = await replicas[0].query('SELECT count(*)::int AS n FROM widgets_b.migrations');
      expect(runs[0].n).toBe(1);
    } finally {
      await Promise.all(replicas.map((r) => r.destroy()));
    }
  });

  it('is a no-op on a second start', async () => {
    await (await open('widgets_c')).destroy();
    const again = await open('widgets_c');
    try {
      expect((await again.query('SELECT count(*)::int AS n FROM widgets_c.migrations'))[0].n).toBe(1);
    } finally {
      await again.destroy();
    }
  });

  it('refuses a schema name that could inject SQL', async () => {
    await expect(open('x"; DROP SCHEMA public; --')).rejects.toThrow(TypeError);
  });
});
