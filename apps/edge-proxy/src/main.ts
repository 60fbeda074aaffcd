import 'reflect-metadata';
import { loadShutdownSettings, startServiceProcess } from '@portcullis/bus';
import { natsAuthOf, runService } from '@portcullis/telemetry';
import { loadEdgeProxyConfig } from './config/edge-proxy.config';
import { EdgeProxyModule } from './edge-proxy.module';

runService('edge-proxy', async () => {
  const config = loadEdgeProxyConfig(process.env);
  await startServiceProcess({
    service: 'edge-proxy',
    natsUrl: config.NATS_URL,
    natsAuth: natsAuthOf(config),
    subjectPrefix: config.BUS_SUBJECT_PREFIX,
    logLevel: config.LOG_LEVEL,
    host: config.HOST,
    port: config.EDGE_PORT,
    shutdown: loadShutdownSettings(process.env, 'edge-proxy'),
    module: (runtime) =>
      EdgeProxyModule.register({
        ...runtime,
        publicUrl: config.PUBLIC_URL,
        maxRequestBytes: config.MAX_REQUEST_BYTES,
        sessionKeys: config.SESSION_KEYS,
        sessionMaxAgeSeconds: config.SESSION_MAX_AGE,
        auditSpoolDir: config.AUDIT_SPOOL_DIR,
        auditBatchLingerMs: config.AUDIT_BATCH_LINGER_MS,
        outboundAllowPrivate: config.OUTBOUND_ALLOW_PRIVATE,
        allowedHosts: config.ALLOWED_HOSTS,
        allowedOrigins: config.ALLOWED_ORIGINS,
      }),
  });
});
