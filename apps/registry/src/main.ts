import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { NatsBus } from '@portcullis/bus';
import { createLogger, PinoNestLogger, runService, startTracing } from '@portcullis/telemetry';
import { loadRegistryConfig, RegistryConfig } from './config/registry.config';
import { RegistryModule } from './registry.module';

const SERVICE = 'registry';

async function bootstrap(): Promise<void> {
  const config: RegistryConfig = loadRegistryConfig(process.env);
  startTracing(SERVICE);
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL });
  const bus = await NatsBus.connect({
    servers: config.NATS_URL,
    name: SERVICE,
    subjectPrefix: config.BUS_SUBJECT_PREFIX,
    onHandlerError: (subject, error) => logger.error({ err: error, subject }, 'bus handler failed'),
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    RegistryModule.register({ bus, closeBusOnShutdown: true, logger, databaseUrl: config.DATABASE_URL, outboundAllowPrivate: config.OUTBOUND_ALLOW_PRIVATE }),
    new FastifyAdapter(),
    { logger: new PinoNestLogger(logger) },
  );
  app.enableShutdownHooks();
  await app.listen(config.REGISTRY_PORT, config.HOST);
  logger.info(`registry listening on http://${config.HOST}:${config.REGISTRY_PORT}/api/v1`);
}

runService('registry', bootstrap);
