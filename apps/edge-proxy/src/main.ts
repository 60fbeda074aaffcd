import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { NatsBus } from '@portcullis/bus';
import { createLogger, exitOnConfigError, PinoNestLogger, startTracing } from '@portcullis/telemetry';
import { EdgeProxyConfig, loadEdgeProxyConfig } from './config/edge-proxy.config';
import { EdgeProxyModule } from './edge-proxy.module';

async function main(): Promise<void> {
  let config: EdgeProxyConfig;
  try {
    config = loadEdgeProxyConfig(process.env);
  } catch (error) {
    return exitOnConfigError(error, 'edge-proxy');
  }
  startTracing('portcullis-edge-proxy');
  const logger = createLogger({ service: 'edge-proxy', level: config.LOG_LEVEL });
  const bus = await NatsBus.connect({ servers: config.NATS_URL, name: 'portcullis-edge-proxy', subjectPrefix: config.BUS_SUBJECT_PREFIX });
  const app = await NestFactory.create<NestFastifyApplication>(
    EdgeProxyModule.register({ bus, closeBusOnShutdown: true, logger, publicUrl: config.PUBLIC_URL, maxRequestBytes: config.MAX_REQUEST_BYTES }),
    new FastifyAdapter(),
    { logger: new PinoNestLogger(logger) },
  );
  app.enableShutdownHooks();
  await app.listen(config.EDGE_PORT, config.HOST);
  logger.info({ url: await app.getUrl(), publicUrl: config.PUBLIC_URL }, 'edge-proxy listening');
}

void main();
