import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { HealthRegistry, type ReadinessReport } from './health.registry';
import { MetricsRegistry } from './metrics';
import { OBSERVABILITY_OPTIONS, type ObservabilityOptions } from './observability.options';

/** Liveness, readiness and Prometheus metrics for every app. */
@Controller()
export class ObservabilityController {
  constructor(
    @Inject(OBSERVABILITY_OPTIONS) private readonly options: ObservabilityOptions,
    private readonly health: HealthRegistry,
    private readonly metrics: MetricsRegistry,
  ) {}

  /** Up while the process answers; says nothing about dependencies. */
  @Get('healthz')
  healthz(): { status: 'ok'; service: string } {
    return { status: 'ok', service: this.options.service };
  }

  /** 200 when every registered probe passes, 503 otherwise, with the per-probe report. */
  @Get('readyz')
  async readyz(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessReport> {
    const report = await this.health.report();
    reply.status(report.ready ? 200 : 503);
    return report;
  }

  @Get('metrics')
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    reply.header('content-type', this.metrics.contentType);
    return this.metrics.metrics();
  }
}
