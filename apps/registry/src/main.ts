import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { NatsBus } from '@portcullis/bus';
import { createLogger, exitOnConfigError, PinoNestLogger, startTracing } from '@portcullis/telemetry';
import { loadRegistryConfig, RegistryConfig } from './config/registry.config';
import { RegistryModule } from './registry.module';

const SERVICE = 'registry';

async function bootstrap(): Promise<void> {
  let config: RegistryConfig;
  try {
    config = loadRegistryConfig(process.env);
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
    RegistryModule.register({ bus, closeBusOnShutdown: true, logger, databaseUrl: config.DATABASE_URL }),
    new FastifyAdapter(),
    { logger: new PinoNestLogger(logger) },
  );
  app.enableShutdownHooks();
  await app.listen(config.REGISTRY_PORT, config.HOST);
  logger.info(`registry listening on http://${config.HOST}:${config.REGISTRY_PORT}/api/v1`);
}

void bootstrap().catch((error: unknown) => {
  process.stderr.write(`registry: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
