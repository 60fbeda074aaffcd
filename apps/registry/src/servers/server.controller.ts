import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import type { Principal } from '@portcullis/contracts';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal } from '../access/current-principal.decorator';
import { RequirePermission } from '../access/require-permission.decorator';
import { etagOf } from '../http/etag';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import {
  CreateServerBody,
  CreateServerBodySchema,
  ListServersQuery,
  ListServersQuerySchema,
  ServerPage,
  ServerView,
  UpdateServerBody,
  UpdateServerBodySchema,
} from './dto/server.dto';
import { ServerService } from './server.service';

function withEtag(reply: FastifyReply, server: ServerView): ServerView {
  void reply.header('etag', etagOf(server.version));
  return server;
}

@Controller('api/v1/servers')
export class ServerController {
  constructor(private readonly servers: ServerService) {}

  @Post()
  @RequirePermission('servers:write')
  async create(
    @Body(new ZodValidationPipe(CreateServerBodySchema, 'server')) body: CreateServerBody,
    @CurrentPrincipal() actor: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ServerView> {
    return withEtag(reply, await this.servers.create(body, actor));
  }

  /** Admins see every server; anyone else only the servers they hold a role on (directly or through a group). */
  @Get()
  @RequirePermission('servers:list')
  list(@Query(new ZodValidationPipe(ListServersQuerySchema, 'query')) query: ListServersQuery, @CurrentPrincipal() principal: Principal): Promise<ServerPage> {
    return this.servers.list(query.limit, query.offset, query.name, principal);
  }

  /** Collaborators with any role see the server; its header values never appear. */
  @Get(':slug')
  @RequirePermission('server:read')
  async get(@Param('slug') slug: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<ServerView> {
    return withEtag(reply, await this.servers.get(slug));
  }

  /** Admins, and managers of the server or its group (DESIGN §9). `If-Match` with the ETag refuses a lost update (412). */
  @Patch(':slug')
  @RequirePermission('server:manage')
  async update(
    @Param('slug') slug: string,
    @Body(new ZodValidationPipe(UpdateServerBodySchema, 'server change')) body: UpdateServerBody,
    @CurrentPrincipal() actor: Principal,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ServerView> {
    return withEtag(reply, await this.servers.update(slug, body, actor, ifMatch));
  }

  @Delete(':slug')
  @HttpCode(204)
  @RequirePermission('servers:write')
  remove(@Param('slug') slug: string, @CurrentPrincipal() actor: Principal): Promise<void> {
    return this.servers.remove(slug, actor);
  }
}
