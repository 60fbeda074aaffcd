import type { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { createLogger, Logger, LoggerLevel, NatsAuthSettings, PinoNestLogger, startTracing } from '@portcullis/telemetry';
import { GracefulShutdown, loadShutdownSettings, type ShutdownSettings } from './graceful-shutdown';
import { NatsBus } from './nats.bus';

/** What every service module needs from the process hosting it. */
export interface ServiceRuntime {
  bus: NatsBus;
  closeBusOnShutdown: true;
  logger: Logger;
}

export interface ServiceProcessOptions {
  service: string;
  natsUrl: string;
  /** This service's NATS user and TLS files (deploy/nats); none on an open server. */
  natsAuth?: NatsAuthSettings;
  subjectPrefix?: string;
  logLevel: LoggerLevel;
  host: string;
  port: number;
  /** How it stops on SIGTERM (`loadShutdownSettings`); the defaults when not given. */
  shutdown?: ShutdownSettings;
  /** The service's Nest module, given the bus and logger this process made for it. */
  module: (runtime: ServiceRuntime) => DynamicModule;
}

/**
 * Starts one service as its own process (`node dist/apps/<name>/main.js`):
 * tracing, a pino logger, a NATS bus, and the service's module on Fastify.
 * all-in-one composes the same modules on a shared in-process bus instead.
 * SIGTERM and SIGINT stop it in order ({@link GracefulShutdown}), not with
 * Nest's shutdown hooks, which close the bus and pools before the HTTP server.
 */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<{ app: INestApplication; logger: Logger }> {
  const tracing = startTracing(`portcullis-${options.service}`);
  const logger = createLogger({ service: options.service, level: options.logLevel });
  const bus = await NatsBus.connect({
    servers: options.natsUrl,
    name: `portcullis-${options.service}`,
    inboxPrefix: `_INBOX_${options.service}`,
    ...options.natsAuth,
    subjectPrefix: options.subjectPrefix,
    onHandlerError: (subject, error) => logger.error({ err: error, subject }, 'bus handler failed'),
  });
  const app = await NestFactory.create<NestFastifyApplication>(options.module({ bus, closeBusOnShutdown: true, logger }), new FastifyAdapter(), {
    logger: new PinoNestLogger(logger),
  });
  const shutdown = new GracefulShutdown({
    logger,
    settings: options.shutdown ?? loadShutdownSettings({}, options.service),
    bus,
    afterClose: () => tracing.shutdown(),
  });
  shutdown.add(options.service, app, { http: true });
  shutdown.listen();
  await app.listen(options.port, options.host);
  logger.info({ url: await app.getUrl() }, `${options.service} listening`);
  return { app, logger };
}
