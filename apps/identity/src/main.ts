import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { NatsBus } from '@portcullis/bus';
import { createLogger, exitOnConfigError, PinoNestLogger, startTracing } from '@portcullis/telemetry';
import { IdentityConfig, loadIdentityConfig } from './config/identity.config';
import { IdentityModule } from './identity.module';

const SERVICE = 'identity';

async function bootstrap(): Promise<void> {
  let config: IdentityConfig;
  try {
    config = loadIdentityConfig(process.env);
  } catch (error) {
    exitOnConfigError(error, SERVICE);
  }
  startTracing(SERVICE);
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL });
  const bus = await NatsBus.connect({
    servers: config.NATS_URL,
    name: SERVICE,
    subjectPrefix: config.BUS_SUBJECT_PREFIX,
    onHandlerError: (subject, error) => logger.error({ err: error, subject }, 'bus handler failed'),
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    IdentityModule.register({
      bus,
      closeBusOnShutdown: true,
      logger,
      databaseUrl: config.DATABASE_URL,
      bootstrapAdminToken: config.PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN,
    }),
    new FastifyAdapter(),
    { logger: new PinoNestLogger(logger) },
  );
  app.enableShutdownHooks();
  await app.listen(config.IDENTITY_PORT, config.HOST);
  logger.info(`identity listening on http://${config.HOST}:${config.IDENTITY_PORT} (health and metrics)`);
}

void bootstrap().catch((error: unknown) => {
  process.stderr.write(`identity: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
