import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import type { Principal } from '@portcullis/contracts';
import { CurrentPrincipal } from '../access/current-principal.decorator';
import { RequirePermission } from '../access/require-permission.decorator';
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

@Controller('api/v1/servers')
export class ServerController {
  constructor(private readonly servers: ServerService) {}

  @Post()
  @RequirePermission('servers:write')
  create(@Body(new ZodValidationPipe(CreateServerBodySchema, 'server')) body: CreateServerBody, @CurrentPrincipal() actor: Principal): Promise<ServerView> {
    return this.servers.create(body, actor);
  }

  @Get()
  @RequirePermission('servers:read')
  list(@Query(new ZodValidationPipe(ListServersQuerySchema, 'query')) query: ListServersQuery): Promise<ServerPage> {
    return this.servers.list(query.limit, query.offset);
  }

  @Get(':slug')
  @RequirePermission('servers:read')
  get(@Param('slug') slug: string): Promise<ServerView> {
    return this.servers.get(slug);
  }

  @Patch(':slug')
  @RequirePermission('servers:write')
  update(
    @Param('slug') slug: string,
    @Body(new ZodValidationPipe(UpdateServerBodySchema, 'server change')) body: UpdateServerBody,
    @CurrentPrincipal() actor: Principal,
  ): Promise<ServerView> {
    return this.servers.update(slug, body, actor);
  }

  @Delete(':slug')
  @HttpCode(204)
  @RequirePermission('servers:write')
  remove(@Param('slug') slug: string, @CurrentPrincipal() actor: Principal): Promise<void> {
    return this.servers.remove(slug, actor);
  }
}
