import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { NatsBus } from '@portcullis/bus';
import { createLogger, PinoNestLogger, runService, startTracing } from '@portcullis/telemetry';
import { AuditModule } from './audit.module';
import { AuditConfig, loadAuditConfig } from './config/audit.config';

const SERVICE = 'audit';

async function bootstrap(): Promise<void> {
  const config: AuditConfig = loadAuditConfig(process.env);
  startTracing(SERVICE);
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL });
  const bus = await NatsBus.connect({
    servers: config.NATS_URL,
    name: SERVICE,
    subjectPrefix: config.BUS_SUBJECT_PREFIX,
    onHandlerError: (subject, error) => logger.error({ subject, err: error }, 'bus handler failed'),
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AuditModule.register({ bus, closeBusOnShutdown: true, logger, databaseUrl: config.DATABASE_URL }),
    new FastifyAdapter(),
    { logger: new PinoNestLogger(logger) },
  );
  app.enableShutdownHooks();
  await app.listen(config.AUDIT_PORT, config.HOST);
  logger.info(`audit listening on http://${config.HOST}:${config.AUDIT_PORT}`);
}

runService('audit', bootstrap);
