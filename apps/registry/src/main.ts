import 'reflect-metadata';
import { loadShutdownSettings, startServiceProcess } from '@portcullis/bus';
import { natsAuthOf, runService } from '@portcullis/telemetry';
import { loadRegistryConfig } from './config/registry.config';
import { RegistryModule } from './registry.module';

runService('registry', async () => {
  const config = loadRegistryConfig(process.env);
  await startServiceProcess({
    service: 'registry',
    natsUrl: config.NATS_URL,
    natsAuth: natsAuthOf(config),
    subjectPrefix: config.BUS_SUBJECT_PREFIX,
    logLevel: config.LOG_LEVEL,
    host: config.HOST,
    port: config.REGISTRY_PORT,
    shutdown: loadShutdownSettings(process.env, 'registry'),
    module: (runtime) => RegistryModule.register({ ...runtime, databaseUrl: config.DATABASE_URL, outboundAllowPrivate: config.OUTBOUND_ALLOW_PRIVATE }),
  });
});
