import 'reflect-metadata';
import { loadShutdownSettings, startServiceProcess } from '@portcullis/bus';
import { natsAuthOf, runService } from '@portcullis/telemetry';
import { AuditModule } from './audit.module';
import { loadAuditConfig } from './config/audit.config';

runService('audit', async () => {
  const config = loadAuditConfig(process.env);
  await startServiceProcess({
    service: 'audit',
    natsUrl: config.NATS_URL,
    natsAuth: natsAuthOf(config),
    subjectPrefix: config.BUS_SUBJECT_PREFIX,
    logLevel: config.LOG_LEVEL,
    host: config.HOST,
    port: config.AUDIT_PORT,
    shutdown: loadShutdownSettings(process.env, 'audit'),
    module: (runtime) => AuditModule.register({ ...runtime, databaseUrl: config.DATABASE_URL }),
  });
});
