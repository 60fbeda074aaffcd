import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from './edge-proxy.options';

/**
 * Replaces Fastify's body parsers with one that keeps every body as the text
 * it arrived as, within `maxRequestBytes`. The proxy forwards those exact
 * bytes, and answers bad JSON with its own JSON-RPC parse error instead of
 * Fastify's. Owns the whole Fastify instance: the edge runs as its own app.
 */
@Injectable()
export class RawBodyParser implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(EDGE_PROXY_OPTIONS) private readonly options: EdgeProxyModuleOptions,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify || typeof fastify.addContentTypeParser !== 'function') return;
    fastify.removeAllContentTypeParsers();
    fastify.addContentTypeParser('*', { parseAs: 'string', bodyLimit: this.options.maxRequestBytes }, (_request, body, done) => done(null, body));
  }
}
