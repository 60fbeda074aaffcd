import { Controller, Delete, Get, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { McpProxyService } from './mcp-proxy.service';
import { OriginGuard } from './origin.guard';

/**
 * `/mcp/{slug}`: the streamable HTTP endpoint of each upstream. The bearer
 * token is checked inside the proxy, which answers a 401 challenge naming
 * this slug's protected resource metadata (DESIGN §7).
 */
@Controller('mcp')
@UseGuards(OriginGuard)
export class McpController {
  constructor(private readonly proxy: McpProxyService) {}

  @Post(':slug')
  post(@Param('slug') slug: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.proxy.handle(request, reply, slug);
  }

  /** Opens the server-to-client event stream of a session. */
  @Get(':slug')
  get(@Param('slug') slug: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.proxy.handle(request, reply, slug);
  }

  /** Ends a session. */
  @Delete(':slug')
  delete(@Param('slug') slug: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.proxy.handle(request, reply, slug);
  }
}
