import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { NatsBus } from '@portcullis/bus';
import { createLogger, PinoNestLogger, runService, startTracing } from '@portcullis/telemetry';
import { EdgeProxyConfig, loadEdgeProxyConfig } from './config/edge-proxy.config';
import { EdgeProxyModule } from './edge-proxy.module';

async function main(): Promise<void> {
  const config: EdgeProxyConfig = loadEdgeProxyConfig(process.env);
  startTracing('portcullis-edge-proxy');
  const logger = createLogger({ service: 'edge-proxy', level: config.LOG_LEVEL });
  const bus = await NatsBus.connect({ servers: config.NATS_URL, name: 'portcullis-edge-proxy', subjectPrefix: config.BUS_SUBJECT_PREFIX });
  const app = await NestFactory.create<NestFastifyApplication>(
    EdgeProxyModule.register({ bus, closeBusOnShutdown: true, logger, publicUrl: config.PUBLIC_URL, maxRequestBytes: config.MAX_REQUEST_BYTES, auditSpoolDir: config.AUDIT_SPOOL_DIR, outboundAllowPrivate: config.OUTBOUND_ALLOW_PRIVATE }),
    new FastifyAdapter(),
    { logger: new PinoNestLogger(logger) },
  );
  app.enableShutdownHooks();
  await app.listen(config.EDGE_PORT, config.HOST);
  logger.info({ url: await app.getUrl(), publicUrl: config.PUBLIC_URL }, 'edge-proxy listening');
}

runService('edge-proxy', main);
