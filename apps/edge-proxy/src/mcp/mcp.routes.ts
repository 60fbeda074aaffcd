import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from '../edge-proxy.options';
import { cutStartedAnswer } from '../edge-proxy-exception.filter';
import { OriginNotAllowedError } from '../errors';
import { McpProxyService } from './mcp-proxy.service';
import { OriginPolicy } from './origin-policy';

/**
 * `/mcp/{slug}` (POST, GET for the event stream, DELETE to end a session):
 * the streamable HTTP endpoint of each upstream. The bearer token is checked
 * inside the proxy, which answers a 401 challenge naming this slug's protected
 * resource metadata (DESIGN §7).
 *
 * A Fastify route of its own rather than a Nest controller: it is the hot
 * path, and Nest's per-request layer (parameter extraction, guard and filter
 * contexts) cost about a tenth of the edge's CPU per call
 * (docs/performance.md). A failure still reaches EdgeProxyExceptionFilter:
 * Nest installs it as Fastify's error handler.
 */
@Injectable()
export class McpRoutes implements OnModuleInit {
  private readonly origins: OriginPolicy;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly proxy: McpProxyService,
    @Inject(EDGE_PROXY_OPTIONS) options: EdgeProxyModuleOptions,
  ) {
    this.origins = new OriginPolicy({ publicUrl: options.publicUrl, allowedHosts: options.allowedHosts ?? [], allowedOrigins: options.allowedOrigins ?? [] });
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.route<{ Params: { slug: string } }>({
      method: ['POST', 'GET', 'DELETE'],
      url: '/mcp/:slug',
      handler: (request, reply) => this.handle(request, reply),
    });
  }

  private async handle(request: FastifyRequest<{ Params: { slug: string } }>, reply: FastifyReply): Promise<void> {
    // A foreign Host or Origin is refused (403) before any token is looked at.
    const origin = request.headers.origin;
    const verdict = this.origins.check(request.headers.host, typeof origin === 'string' ? origin : undefined);
    if (verdict !== 'ok') throw new OriginNotAllowedError(verdict);
    try {
      await this.proxy.handle(request, reply, request.params.slug);
    } catch (error) {
      // Fastify only logs a failure once the answer has started; the filter would have cut the connection.
      if (!cutStartedAnswer(reply)) throw error;
    }
  }
}
