import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { NatsBus } from '@portcullis/bus';
import { createLogger, PinoNestLogger, runService, startTracing } from '@portcullis/telemetry';
import { loadTokenVaultConfig, TokenVaultConfig } from './config/token-vault.config';
import { TokenVaultModule } from './token-vault.module';

const SERVICE = 'token-vault';

async function bootstrap(): Promise<void> {
  const config: TokenVaultConfig = loadTokenVaultConfig(process.env);
  startTracing(SERVICE);
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL });
  logger.info({ activeKid: config.VAULT_KEYS.activeKid, kids: config.VAULT_KEYS.kids }, 'keyring loaded');
  const bus = await NatsBus.connect({
    servers: config.NATS_URL,
    name: SERVICE,
    subjectPrefix: config.BUS_SUBJECT_PREFIX,
    onHandlerError: (subject, error) => logger.error({ subject, err: error }, 'bus handler failed'),
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    TokenVaultModule.register({ bus, closeBusOnShutdown: true, logger, databaseUrl: config.DATABASE_URL, keyring: config.VAULT_KEYS }),
    new FastifyAdapter(),
    { logger: new PinoNestLogger(logger) },
  );
  app.enableShutdownHooks();
  // HTTP here is health and metrics only; the service's work arrives over the bus.
  await app.listen(config.VAULT_PORT, config.HOST);
  logger.info(`token-vault health and metrics on http://${config.HOST}:${config.VAULT_PORT}`);
}

runService('token-vault', bootstrap);
