import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { NatsBus } from '@portcullis/bus';
import { createLogger, PinoNestLogger, runService, startTracing } from '@portcullis/telemetry';
import { IdentityConfig, loadIdentityConfig } from './config/identity.config';
import { IdentityModule } from './identity.module';

const SERVICE = 'identity';

async function bootstrap(): Promise<void> {
  const config: IdentityConfig = loadIdentityConfig(process.env);
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
      keyring: config.IDENTITY_KEYS,
      publicUrl: config.PUBLIC_URL,
    }),
    new FastifyAdapter(),
    { logger: new PinoNestLogger(logger) },
  );
  app.enableShutdownHooks();
  await app.listen(config.IDENTITY_PORT, config.HOST);
  logger.info(`identity listening on http://${config.HOST}:${config.IDENTITY_PORT} (health and metrics)`);
}

runService('identity', bootstrap);
