import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Put, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { RequirePermission } from '../access/require-permission.decorator';
import { etagOf } from '../http/etag';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import {
  CreateToolPolicyBody,
  CreateToolPolicyBodySchema,
  PutToolSettingBody,
  PutToolSettingBodySchema,
  ToolPolicyList,
  ToolPolicyView,
  ToolSettingList,
  ToolSettingView,
  UpdateToolPolicyBody,
  UpdateToolPolicyBodySchema,
} from './dto/tool.dto';
import { ToolService } from './tool.service';

/** `/servers/{slug}/tools/{tool}`: disable a tool or override its description. */
@Controller('api/v1/servers/:slug/tools')
export class ToolSettingController {
  constructor(private readonly tools: ToolService) {}

  @Get()
  @RequirePermission('server:read')
  list(@Param('slug') slug: string): Promise<ToolSettingList> {
    return this.tools.listSettings(slug);
  }

  @Put(':tool')
  @RequirePermission('server:manage')
  put(@Param('slug') slug: string, @Param('tool') tool: string, @Body(new ZodValidationPipe(PutToolSettingBodySchema, 'tool setting')) body: PutToolSettingBody): Promise<ToolSettingView> {
    return this.tools.putSetting(slug, tool, body);
  }

  @Delete(':tool')
  @HttpCode(204)
  @RequirePermission('server:manage')
  remove(@Param('slug') slug: string, @Param('tool') tool: string): Promise<void> {
    return this.tools.removeSetting(slug, tool);
  }
}

function withEtag(reply: FastifyReply, versioned: { view: ToolPolicyView; version: number }): ToolPolicyView {
  void reply.header('etag', etagOf(versioned.version));
  return versioned.view;
}

/** `/servers/{slug}/policies`: allow/deny tool globs per subject; deny wins. */
@Controller('api/v1/servers/:slug/policies')
export class ToolPolicyController {
  constructor(private readonly tools: ToolService) {}

  @Get()
  @RequirePermission('server:read')
  list(@Param('slug') slug: string): Promise<ToolPolicyList> {
    return this.tools.listPolicies({ kind: 'server', slug });
  }

  @Post()
  @RequirePermission('server:manage')
  async create(
    @Param('slug') slug: string,
    @Body(new ZodValidationPipe(CreateToolPolicyBodySchema, 'tool policy')) body: CreateToolPolicyBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ToolPolicyView> {
    return withEtag(reply, await this.tools.createPolicy({ kind: 'server', slug }, body));
  }

  @Get(':id')
  @RequirePermission('server:read')
  async get(@Param('slug') slug: string, @Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<ToolPolicyView> {
    return withEtag(reply, await this.tools.getPolicy({ kind: 'server', slug }, id));
  }

  @Patch(':id')
  @RequirePermission('server:manage')
  async update(
    @Param('slug') slug: string,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(UpdateToolPolicyBodySchema, 'tool policy change')) body: UpdateToolPolicyBody,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ToolPolicyView> {
    return withEtag(reply, await this.tools.updatePolicy({ kind: 'server', slug }, id, body, ifMatch));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission('server:manage')
  remove(@Param('slug') slug: string, @Param('id') id: string): Promise<void> {
    return this.tools.removePolicy({ kind: 'server', slug }, id);
  }
}

/** `/virtual-servers/{slug}/policies`: the same, on the names a virtual server exposes. */
@Controller('api/v1/virtual-servers/:slug/policies')
export class VirtualServerPolicyController {
  constructor(private readonly tools: ToolService) {}

  @Get()
  @RequirePermission('virtual-server:read')
  list(@Param('slug') slug: string): Promise<ToolPolicyList> {
    return this.tools.listPolicies({ kind: 'virtual-server', slug });
  }

  @Post()
  @RequirePermission('virtual-server:manage')
  async create(
    @Param('slug') slug: string,
    @Body(new ZodValidationPipe(CreateToolPolicyBodySchema, 'tool policy')) body: CreateToolPolicyBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ToolPolicyView> {
    return withEtag(reply, await this.tools.createPolicy({ kind: 'virtual-server', slug }, body));
  }

  @Get(':id')
  @RequirePermission('virtual-server:read')
  async get(@Param('slug') slug: string, @Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<ToolPolicyView> {
    return withEtag(reply, await this.tools.getPolicy({ kind: 'virtual-server', slug }, id));
  }

  @Patch(':id')
  @RequirePermission('virtual-server:manage')
  async update(
    @Param('slug') slug: string,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(UpdateToolPolicyBodySchema, 'tool policy change')) body: UpdateToolPolicyBody,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ToolPolicyView> {
    return withEtag(reply, await this.tools.updatePolicy({ kind: 'virtual-server', slug }, id, body, ifMatch));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission('virtual-server:manage')
  remove(@Param('slug') slug: string, @Param('id') id: string): Promise<void> {
    return this.tools.removePolicy({ kind: 'virtual-server', slug }, id);
  }
}
