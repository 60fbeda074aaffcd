import 'reflect-metadata';
import { loadShutdownSettings, startServiceProcess } from '@portcullis/bus';
import { natsAuthOf, runService } from '@portcullis/telemetry';
import { loadTokenVaultConfig } from './config/token-vault.config';
import { TokenVaultModule } from './token-vault.module';

runService('token-vault', async () => {
  const config = loadTokenVaultConfig(process.env);
  // HTTP here is health and metrics only; the service's work arrives over the bus.
  const { logger } = await startServiceProcess({
    service: 'token-vault',
    natsUrl: config.NATS_URL,
    natsAuth: natsAuthOf(config),
    subjectPrefix: config.BUS_SUBJECT_PREFIX,
    logLevel: config.LOG_LEVEL,
    host: config.HOST,
    port: config.VAULT_PORT,
    shutdown: loadShutdownSettings(process.env, 'token-vault'),
    module: (runtime) => TokenVaultModule.register({
        ...runtime,
        databaseUrl: config.DATABASE_URL,
        keyring: config.VAULT_KEYS,
        publicUrl: config.PUBLIC_URL,
        outboundAllowPrivate: config.OUTBOUND_ALLOW_PRIVATE,
      }),
  });
  logger.info({ activeKid: config.VAULT_KEYS.activeKid, kids: config.VAULT_KEYS.kids }, 'keyring loaded');
});
