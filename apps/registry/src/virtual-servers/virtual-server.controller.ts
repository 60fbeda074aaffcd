import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { RequirePermission } from '../access/require-permission.decorator';
import { etagOf } from '../http/etag';
import { ListQuery, ListQuerySchema } from '../http/list-query';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import {
  CreateVirtualServerBody,
  CreateVirtualServerBodySchema,
  UpdateVirtualServerBody,
  UpdateVirtualServerBodySchema,
  VirtualServerPage,
  VirtualServerView,
} from './dto/virtual-server.dto';
import { VirtualServerService } from './virtual-server.service';

function withEtag(reply: FastifyReply, versioned: { view: VirtualServerView; version: number }): VirtualServerView {
  void reply.header('etag', etagOf(versioned.version));
  return versioned.view;
}

@Controller('api/v1/virtual-servers')
export class VirtualServerController {
  constructor(private readonly virtualServers: VirtualServerService) {}

  @Post()
  @RequirePermission('virtual-servers:write')
  async create(@Body(new ZodValidationPipe(CreateVirtualServerBodySchema, 'virtual server')) body: CreateVirtualServerBody, @Res({ passthrough: true }) reply: FastifyReply): Promise<VirtualServerView> {
    return withEtag(reply, await this.virtualServers.create(body));
  }

  @Get()
  @RequirePermission('virtual-servers:read')
  list(@Query(new ZodValidationPipe(ListQuerySchema, 'query')) query: ListQuery): Promise<VirtualServerPage> {
    return this.virtualServers.list(query);
  }

  @Get(':slug')
  @RequirePermission('virtual-server:read')
  async get(@Param('slug') slug: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<VirtualServerView> {
    return withEtag(reply, await this.virtualServers.get(slug));
  }

  @Patch(':slug')
  @RequirePermission('virtual-servers:write')
  async update(
    @Param('slug') slug: string,
    @Body(new ZodValidationPipe(UpdateVirtualServerBodySchema, 'virtual server change')) body: UpdateVirtualServerBody,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<VirtualServerView> {
    return withEtag(reply, await this.virtualServers.update(slug, body, ifMatch));
  }

  @Delete(':slug')
  @HttpCode(204)
  @RequirePermission('virtual-servers:write')
  remove(@Param('slug') slug: string): Promise<void> {
    return this.virtualServers.remove(slug);
  }
}
