import { Controller, Get, Inject, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Writable } from 'node:stream';
import { HealthRegistry } from './health.registry';
import { createLogger, type Logger, PinoNestLogger } from './logger';
import { MetricsRegistry } from './metrics';
import { LOGGER, ObservabilityModule } from './observability.module';

@Injectable()
class DatabaseProbe implements OnModuleInit {
  up = true;
  constructor(private readonly health: HealthRegistry) {}
  onModuleInit(): void {
    this.health.register('database', async () => {
      if (!this.up) throw new Error('connection refused');
    });
  }
}

@Controller('work')
class WorkController {
  private readonly done;
  constructor(
    metrics: MetricsRegistry,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.done = metrics.counter('work_done_total', 'Units of work done');
  }

  @Get()
  work(): { ok: true } {
    this.done.inc();
    this.log.info('worked');
    return { ok: true };
  }
}

@Module({ controllers: [WorkController], providers: [DatabaseProbe] })
class FeatureModule {}

describe(ObservabilityModule.name, () => {
  let app: NestFastifyApplication;
  let base: string;
  const lines: string[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = createLogger({ service: 'test-app', destination: sink });

    @Module({ imports: [ObservabilityModule.forRoot({ service: 'test-app', logger }), FeatureModule] })
    class AppModule {}

    app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), {
      logger: new PinoNestLogger(logger),
    });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
    base = base.replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
  });

  it('answers /healthz while the process is up', async () => {
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', service: 'test-app' });
  });

  it('answers /readyz with 200 when every probe passes', async () => {
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ready: true, checks: { database: 'ok' } });
  });

  it('answers /readyz with 503 and the failing probe when a dependency is down', async () => {
    app.get(DatabaseProbe).up = false;
    try {
      const response = await fetch(`${base}/readyz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ ready: false, checks: { database: 'connection refused' } });
    } finally {
      app.get(DatabaseProbe).up = true;
    }
  });

  it('serves Prometheus text with custom and process metrics at /metrics', async () => {
    await fetch(`${base}/work`);
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8/);
    const text = await response.text();
    expect(text).toContain('work_done_total{service="test-app"} 1');
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('provides the logger under LOGGER and routes Nest logs through it as JSON', () => {
    const parsed = lines.flatMap((chunk) => chunk.split('\n')).filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed).toContainEqual(expect.objectContaining({ msg: 'worked', service: 'test-app' }));
    expect(parsed).toContainEqual(expect.objectContaining({ context: 'NestApplication', service: 'test-app' }));
  });
});
