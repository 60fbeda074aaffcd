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

/** `/servers/{slug}/policies`: allow/deny tool globs per subject; deny wins. */
@Controller('api/v1/servers/:slug/policies')
export class ToolPolicyController {
  constructor(private readonly tools: ToolService) {}

  @Get()
  @RequirePermission('server:read')
  list(@Param('slug') slug: string): Promise<ToolPolicyList> {
    return this.tools.listPolicies(slug);
  }

  @Post()
  @RequirePermission('server:manage')
  async create(
    @Param('slug') slug: string,
    @Body(new ZodValidationPipe(CreateToolPolicyBodySchema, 'tool policy')) body: CreateToolPolicyBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ToolPolicyView> {
    const { view, version } = await this.tools.createPolicy(slug, body);
    void reply.header('etag', etagOf(version));
    return view;
  }

  @Get(':id')
  @RequirePermission('server:read')
  async get(@Param('slug') slug: string, @Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<ToolPolicyView> {
    const { view, version } = await this.tools.getPolicy(slug, id);
    void reply.header('etag', etagOf(version));
    return view;
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
    const { view, version } = await this.tools.updatePolicy(slug, id, body, ifMatch);
    void reply.header('etag', etagOf(version));
    return view;
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission('server:manage')
  remove(@Param('slug') slug: string, @Param('id') id: string): Promise<void> {
    return this.tools.removePolicy(slug, id);
  }
}
