import 'reflect-metadata';
import { join, resolve } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Bus, GracefulShutdown, loadShutdownSettings } from '@portcullis/bus';
import { RequestSubjects } from '@portcullis/contracts';
import { Keyring } from '@portcullis/crypto';
import { AuditModule } from '@portcullis/audit';
import { DEFAULT_MAX_REQUEST_BYTES, EdgeProxyModule } from '@portcullis/edge-proxy';
import { IdentityModule } from '@portcullis/identity';
import { startEmbeddedPostgres, EmbeddedPostgresHandle } from '@portcullis/persistence';
import { RegistryModule } from '@portcullis/registry';
import { createLogger, Logger, PinoNestLogger, runService, startTracing } from '@portcullis/telemetry';
import { TokenVaultModule } from '@portcullis/token-vault';
import { connectAllInOneBus } from './all-in-one-bus';
import { AllInOneConfig, loadAllInOneConfig } from './config/all-in-one.config';
import { DataFolder } from './data-folder';

async function main(): Promise<void> {
  const config: AllInOneConfig = loadAllInOneConfig(process.env);
  const shutdownSettings = loadShutdownSettings(process.env, 'all-in-one');
  const tracing = startTracing('portcullis-all-in-one');
  const logger = createLogger({ service: 'all-in-one', level: config.LOG_LEVEL });
  const dataFolder = new DataFolder(resolve(config.PORTCULLIS_DATA_DIR));
  await dataFolder.ensure();

  let embedded: EmbeddedPostgresHandle | null = null;
  if (!config.DATABASE_URL) {
    logger.info({ dataDir: dataFolder.path }, 'starting embedded PostgreSQL');
    embedded = await startEmbeddedPostgres(dataFolder.path, config.EMBEDDED_POSTGRES_PORT);
  }
  const databaseUrl = config.DATABASE_URL ?? embedded!.url;
  const bus: Bus = await connectAllInOneBus(config);
  const keyring = config.VAULT_KEYS ? Keyring.parse(config.VAULT_KEYS) : await dataFolder.vaultKeyring();
  const sessionKeys = config.SESSION_KEYS ?? (await dataFolder.sessionKeyring());
  const publicUrl = config.PUBLIC_URL ?? `http://localhost:${config.EDGE_PORT}`;
  const runtime = (service: string) => ({ bus, closeBusOnShutdown: false, logger: logger.child({ service }), databaseUrl });

  const afterClose = async () => {
    await embedded?.stop();
    await tracing.shutdown();
  };
  // SIGTERM drains the HTTP apps, then the shared bus, then closes the apps (edge first) and the database.
  const shutdown = new GracefulShutdown({ logger, settings: shutdownSettings, bus, afterClose });
  shutdown.listen();
  const started: INestApplication[] = [];
  const host = (name: string, module: Parameters<typeof NestFactory.create>[0], listen?: { port: number; host: string }) =>
    createApp(name, module, logger, shutdown, listen).then((app) => void started.push(app));

  try {
    // Answering services first, so the edge and the admin API find them on the bus.
    await host('identity', IdentityModule.register({ ...runtime('identity'), bootstrapAdminToken: config.PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN, keyring, publicUrl }));
    await host('token-vault', TokenVaultModule.register({ ...runtime('token-vault'), keyring, publicUrl, outboundAllowPrivate: config.OUTBOUND_ALLOW_PRIVATE }));
    await host('audit', AuditModule.register(runtime('audit')), { port: config.AUDIT_PORT, host: config.HOST });
    await host('registry', RegistryModule.register({ ...runtime('registry'), outboundAllowPrivate: config.OUTBOUND_ALLOW_PRIVATE }), { port: config.REGISTRY_PORT, host: config.HOST });
    await host(
      'edge-proxy',
      EdgeProxyModule.register({
        ...runtime('edge-proxy'),
        publicUrl,
        maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
        sessionKeys,
        auditSpoolDir: config.AUDIT_SPOOL_DIR ?? join(dataFolder.path, 'spool'),
        auditBatchLingerMs: config.AUDIT_BATCH_LINGER_MS,
        outboundAllowPrivate: config.OUTBOUND_ALLOW_PRIVATE,
        browserLoginApiKeyForm: true,
        allowedHosts: config.ALLOWED_HOSTS,
        allowedOrigins: config.ALLOWED_ORIGINS,
      }),
      { port: config.EDGE_PORT, host: config.HOST },
    );
  } catch (error) {
    logger.fatal({ err: error }, 'portcullis failed to start');
    for (const app of started.reverse()) await app.close().catch((err: unknown) => logger.error({ err }, 'shutdown failed'));
    await bus.close();
    await afterClose();
    process.exit(1);
  }

  const firstAdminToken = await issueFirstAdminKey(bus, dataFolder, config);
  printBanner(config, publicUrl, firstAdminToken, embedded !== null, bus.transportName);
}

/** Creates one service's Nest app; with `listen` it serves HTTP, otherwise it only answers on the bus. */
async function createApp(
  name: string,
  module: Parameters<typeof NestFactory.create>[0],
  logger: Logger,
  shutdown: GracefulShutdown,
  listen?: { port: number; host: string },
): Promise<INestApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), { logger: new PinoNestLogger(logger) });
  shutdown.add(name, app, { http: listen !== undefined });
  if (listen) await app.listen(listen.port, listen.host);
  else await app.init();
  return app;
}

/** On the first start of a data folder without a bootstrap token, mints an admin key and shows it once. */
async function issueFirstAdminKey(bus: Bus, dataFolder: DataFolder, config: AllInOneConfig): Promise<string | null> {
  if (config.PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN) return null;
  if (!(await dataFolder.claimFirstStart())) return null;
  const created = await bus.request(RequestSubjects.identityAdminApiKeyCreate, {
    name: 'first admin (all-in-one)',
    ownerEmail: 'admin@portcullis.local',
    isAdmin: true,
    expiresAt: null,
  });
  return created.token;
}

function printBanner(config: AllInOneConfig, publicUrl: string, firstAdminToken: string | null, embedded: boolean, transport: string): void {
  const local = (port: number) => `http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${port}`;
  const lines = [
    '',
    'Portcullis is running (all-in-one)',
    `  MCP endpoint:   ${publicUrl}/mcp/{server-slug}`,
    `  Admin API:      ${local(config.REGISTRY_PORT)}/api/v1`,
    `  Audit API:      ${local(config.AUDIT_PORT)}/api/v1/audit`,
    `  Database:       ${embedded ? `embedded PostgreSQL in ${resolve(config.PORTCULLIS_DATA_DIR)}` : 'DATABASE_URL'}`,
    `  Bus:            ${transport}`,
  ];
  if (firstAdminToken) {
    lines.push('', '  Admin API key (shown only this once — store it now):', `    ${firstAdminToken}`);
  } else if (config.PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN) {
    lines.push('', '  Admin API key: the PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN you set');
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

runService('all-in-one', main);
