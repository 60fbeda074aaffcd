import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { NatsBus } from '@portcullis/bus';
import { createLogger, exitOnConfigError, PinoNestLogger, startTracing } from '@portcullis/telemetry';
import { AuditModule } from './audit.module';
import { AuditConfig, loadAuditConfig } from './config/audit.config';

const SERVICE = 'audit';

async function bootstrap(): Promise<void> {
  let config: AuditConfig;
  try {
    config = loadAuditConfig(process.env);
  } catch (error) {
    return exitOnConfigError(error, SERVICE);
  }
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

void bootstrap().catch((error: unknown) => {
  process.stderr.write(`audit: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
