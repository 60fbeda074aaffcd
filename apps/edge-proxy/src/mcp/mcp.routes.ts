import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from '../edge-proxy.options';
import { EdgeProxyExceptionFilter } from '../edge-proxy-exception.filter';
import { OriginNotAllowedError } from '../errors';
import { McpHttpReply, McpHttpRequest, readRequestBody } from './mcp-http';
import { McpProxyService } from './mcp-proxy.service';
import { OriginPolicy } from './origin-policy';

const MCP_PREFIX = '/mcp/';

/**
 * `/mcp/{slug}` (POST, GET for the event stream, DELETE to end a session):
 * the streamable HTTP endpoint of each upstream. The bearer token is checked
 * inside the proxy, which answers a 401 challenge naming this slug's protected
 * resource metadata (DESIGN §7).
 *
 * Served from Node's `request` event ahead of Fastify, which still answers
 * every other route (and anything under `/mcp/` that is not one of these).
 * This is the hot path: Nest's per-request layer and Fastify's (routing,
 * hooks, reply, an AsyncResource per parsed body) cost a sixth of the edge's
 * CPU per call (docs/performance.md). Failures are answered by the same
 * EdgeProxyExceptionFilter as the other routes.
 */
@Injectable()
export class McpRoutes implements OnModuleInit {
  private readonly origins: OriginPolicy;
  private readonly maxRequestBytes: number;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly proxy: McpProxyService,
    private readonly errors: EdgeProxyExceptionFilter,
    @Inject(EDGE_PROXY_OPTIONS) options: EdgeProxyModuleOptions,
  ) {
    this.origins = new OriginPolicy({ publicUrl: options.publicUrl, allowedHosts: options.allowedHosts ?? [], allowedOrigins: options.allowedOrigins ?? [] });
    this.maxRequestBytes = options.maxRequestBytes;
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    const server: Server = fastify.server;
    // Fastify listens with `routing` on the server's `request` event; it stays the fallback for everything else.
    const fastifyRouting = fastify.routing as (request: IncomingMessage, response: ServerResponse) => void;
    if (!server.listeners('request').includes(fastifyRouting)) throw new Error('McpRoutes: Fastify does not serve requests through its routing function');
    server.removeListener('request', fastifyRouting);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const slug = this.slugOf(request);
      if (slug === null) fastifyRouting(request, response);
      else void this.handle(request, response, slug); // never rejects: no `catch` promise per call
    });
  }

  /** The slug of a POST, GET or DELETE on `/mcp/{slug}` (query allowed), else null. */
  private slugOf(request: IncomingMessage): string | null {
    const { url, method } = request;
    if (url === undefined || !url.startsWith(MCP_PREFIX) || (method !== 'POST' && method !== 'GET' && method !== 'DELETE')) return null;
    const query = url.indexOf('?', MCP_PREFIX.length);
    const segment = url.slice(MCP_PREFIX.length, query < 0 ? undefined : query);
    if (segment.length === 0 || segment.includes('/')) return null;
    try {
      return decodeURIComponent(segment);
    } catch {
      return null; // Fastify answers a malformed escape
    }
  }

  private async handle(raw: IncomingMessage, response: ServerResponse, slug: string): Promise<void> {
    const reply = new McpHttpReply(response);
    let request: McpHttpRequest = { method: raw.method!, url: raw.url!, headers: raw.headers, body: undefined };
    try {
      // A foreign Host or Origin is refused (403) before any token is looked at.
      const origin = raw.headers.origin;
      const verdict = this.origins.check(raw.headers.host, typeof origin === 'string' ? origin : undefined);
      if (verdict !== 'ok') throw new OriginNotAllowedError(verdict);
      if (request.method === 'POST') {
        try {
          request = { ...request, body: await readRequestBody(raw, this.maxRequestBytes) };
        } catch (error) {
          // The client may still be sending: the connection is not reused.
          reply.header('connection', 'close');
          throw error;
        }
      }
      await this.proxy.handle(request, reply, slug);
    } catch (error) {
      try {
        this.errors.answer(error, request, slug, reply);
      } catch {
        response.destroy(); // the answer could not be written either
      }
    }
  }
}
