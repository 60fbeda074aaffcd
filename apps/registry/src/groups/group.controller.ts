import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import type { Principal } from '@portcullis/contracts';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal } from '../access/current-principal.decorator';
import { RequirePermission } from '../access/require-permission.decorator';
import { etagOf } from '../http/etag';
import { ListQuery, ListQuerySchema } from '../http/list-query';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { CreateGroupBody, CreateGroupBodySchema, GroupPage, GroupView, UpdateGroupBody, UpdateGroupBodySchema } from './dto/group.dto';
import { GroupService, Versioned } from './group.service';

function withEtag(reply: FastifyReply, versioned: Versioned<GroupView>): GroupView {
  void reply.header('etag', etagOf(versioned.version));
  return versioned.view;
}

@Controller('api/v1/groups')
export class GroupController {
  constructor(private readonly groups: GroupService) {}

  @Post()
  @RequirePermission('groups:write')
  async create(@Body(new ZodValidationPipe(CreateGroupBodySchema, 'group')) body: CreateGroupBody, @Res({ passthrough: true }) reply: FastifyReply): Promise<GroupView> {
    return withEtag(reply, await this.groups.create(body));
  }

  @Get()
  @RequirePermission('groups:list')
  list(@Query(new ZodValidationPipe(ListQuerySchema, 'query')) query: ListQuery, @CurrentPrincipal() principal: Principal): Promise<GroupPage> {
    return this.groups.list(query, principal);
  }

  @Get(':name')
  @RequirePermission('group:read')
  async get(@Param('name') name: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<GroupView> {
    return withEtag(reply, await this.groups.get(name));
  }

  @Patch(':name')
  @RequirePermission('groups:write')
  async update(
    @Param('name') name: string,
    @Body(new ZodValidationPipe(UpdateGroupBodySchema, 'group change')) body: UpdateGroupBody,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<GroupView> {
    return withEtag(reply, await this.groups.update(name, body, ifMatch));
  }

  @Delete(':name')
  @HttpCode(204)
  @RequirePermission('groups:write')
  remove(@Param('name') name: string): Promise<void> {
    return this.groups.remove(name);
  }
}
