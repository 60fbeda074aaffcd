import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Put, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { RequirePermission } from '../access/require-permission.decorator';
import type { RegistryPermission } from '../access/registry-permissions';
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
import { type PolicyTarget, ToolService } from './tool.service';

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

/**
 * The policy routes of one kind of target: servers and virtual servers serve the same handlers
 * under their own path and permissions, so both controllers are built here from one class.
 */
function policyControllerFor(name: string, kind: PolicyTarget['kind'], path: string, read: RegistryPermission, manage: RegistryPermission) {
  @Controller(`api/v1/${path}/:slug/policies`)
  class PolicyController {
    constructor(readonly tools: ToolService) {}

    @Get()
    @RequirePermission(read)
    list(@Param('slug') slug: string): Promise<ToolPolicyList> {
      return this.tools.listPolicies({ kind, slug });
    }

    @Post()
    @RequirePermission(manage)
    async create(
      @Param('slug') slug: string,
      @Body(new ZodValidationPipe(CreateToolPolicyBodySchema, 'tool policy')) body: CreateToolPolicyBody,
      @Res({ passthrough: true }) reply: FastifyReply,
    ): Promise<ToolPolicyView> {
      return withEtag(reply, await this.tools.createPolicy({ kind, slug }, body));
    }

    @Get(':id')
    @RequirePermission(read)
    async get(@Param('slug') slug: string, @Param('id') id: string, @Res({ passthrough: true }) reply: FastifyReply): Promise<ToolPolicyView> {
      return withEtag(reply, await this.tools.getPolicy({ kind, slug }, id));
    }

    @Patch(':id')
    @RequirePermission(manage)
    async update(
      @Param('slug') slug: string,
      @Param('id') id: string,
      @Body(new ZodValidationPipe(UpdateToolPolicyBodySchema, 'tool policy change')) body: UpdateToolPolicyBody,
      @Headers('if-match') ifMatch: string | undefined,
      @Res({ passthrough: true }) reply: FastifyReply,
    ): Promise<ToolPolicyView> {
      return withEtag(reply, await this.tools.updatePolicy({ kind, slug }, id, body, ifMatch));
    }

    @Delete(':id')
    @HttpCode(204)
    @RequirePermission(manage)
    remove(@Param('slug') slug: string, @Param('id') id: string): Promise<void> {
      return this.tools.removePolicy({ kind, slug }, id);
    }
  }
  // Not a subclass: route metadata must sit on the registered class itself (the route walks read own properties).
  Object.defineProperty(PolicyController, 'name', { value: name });
  return PolicyController;
}

/** `/servers/{slug}/policies`: allow/deny tool globs per subject; deny wins. */
export const ToolPolicyController = policyControllerFor('ToolPolicyController', 'server', 'servers', 'server:read', 'server:manage');

/** `/virtual-servers/{slug}/policies`: the same, on the names a virtual server exposes. */
export const VirtualServerPolicyController = policyControllerFor(
  'VirtualServerPolicyController',
  'virtual-server',
  'virtual-servers',
  'virtual-server:read',
  'virtual-server:manage',
);
