import { Controller, Delete, Get, Header, Param, Put, Req } from '@nestjs/common';
import type { ConnectionStatus, ConnectionView } from '@portcullis/contracts';
import type { FastifyRequest } from 'fastify';
import { ConnectionsService } from './connections.service';
import { parsePutUserCredentialBody } from './dto/put-user-credential.dto';

/**
 * The caller's own upstream connections and per-user header values,
 * authenticated like `/mcp` (bearer token) or by the browser session. Values
 * go in and never come back out.
 */
@Controller('me')
export class MyConnectionsController {
  constructor(private readonly connections: ConnectionsService) {}

  @Get('connections')
  @Header('cache-control', 'no-store')
  /** Listed like the registry's REST collections (`items`); never a token. */
  async list(@Req() request: FastifyRequest): Promise<{ items: ConnectionView[] }> {
    return { items: await this.connections.listConnections(await this.connections.caller(request.headers, false)) };
  }

  @Get('connections/:slug/authorize')
  @Header('cache-control', 'no-store')
  async authorize(@Param('slug') slug: string, @Req() request: FastifyRequest): Promise<{ status: ConnectionStatus; url: string | null }> {
    return this.connections.connectionStatus(await this.connections.caller(request.headers, false), slug);
  }

  @Delete('connections/:slug')
  @Header('cache-control', 'no-store')
  async deleteConnection(@Param('slug') slug: string, @Req() request: FastifyRequest): Promise<{ deleted: boolean; revokedAtProvider: boolean }> {
    return this.connections.deleteConnection(await this.connections.caller(request.headers, true), slug);
  }

  @Put('credentials/:slug')
  @Header('cache-control', 'no-store')
  async putCredential(@Param('slug') slug: string, @Req() request: FastifyRequest): Promise<{ variables: string[] }> {
    const principal = await this.connections.caller(request.headers, true);
    return this.connections.putUserCredential(principal, slug, parsePutUserCredentialBody(request.body).values);
  }

  @Delete('credentials/:slug')
  @Header('cache-control', 'no-store')
  async deleteCredential(@Param('slug') slug: string, @Req() request: FastifyRequest): Promise<{ deleted: number }> {
    return this.connections.deleteUserCredential(await this.connections.caller(request.headers, true), slug);
  }
}
