import 'reflect-metadata';
import { loadShutdownSettings, startServiceProcess } from '@portcullis/bus';
import { natsAuthOf, runService } from '@portcullis/telemetry';
import { loadIdentityConfig } from './config/identity.config';
import { IdentityModule } from './identity.module';

runService('identity', async () => {
  const config = loadIdentityConfig(process.env);
  // HTTP here is health and metrics only; the service's work arrives over the bus.
  await startServiceProcess({
    service: 'identity',
    natsUrl: config.NATS_URL,
    natsAuth: natsAuthOf(config),
    subjectPrefix: config.BUS_SUBJECT_PREFIX,
    logLevel: config.LOG_LEVEL,
    host: config.HOST,
    port: config.IDENTITY_PORT,
    shutdown: loadShutdownSettings(process.env, 'identity'),
    module: (runtime) =>
      IdentityModule.register({
        ...runtime,
        databaseUrl: config.DATABASE_URL,
        bootstrapAdminToken: config.PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN,
        keyring: config.IDENTITY_KEYS,
        publicUrl: config.PUBLIC_URL,
      }),
  });
});
