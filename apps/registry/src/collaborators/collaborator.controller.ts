import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { RequirePermission } from '../access/require-permission.decorator';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { CollaboratorService } from './collaborator.service';
import { CollaboratorList, CollaboratorView, CreateCollaboratorBody, CreateCollaboratorBodySchema, SetCollaboratorRoleBody, SetCollaboratorRoleBodySchema } from './dto/collaborator.dto';

const body = () => new ZodValidationPipe(CreateCollaboratorBodySchema, 'collaborator');
const roleBody = () => new ZodValidationPipe(SetCollaboratorRoleBodySchema, 'collaborator role');

/** `/servers/{slug}/collaborators`: who holds which role on one server. Subjects in paths are URL-encoded. */
@Controller('api/v1/servers/:slug/collaborators')
export class ServerCollaboratorController {
  constructor(private readonly collaborators: CollaboratorService) {}

  @Get()
  @RequirePermission('server:read')
  list(@Param('slug') slug: string): Promise<CollaboratorList> {
    return this.collaborators.list({ kind: 'server', slug });
  }

  @Post()
  @RequirePermission('server:manage')
  add(@Param('slug') slug: string, @Body(body()) collaborator: CreateCollaboratorBody): Promise<CollaboratorView> {
    return this.collaborators.add({ kind: 'server', slug }, collaborator);
  }

  @Put(':subject')
  @RequirePermission('server:manage')
  setRole(@Param('slug') slug: string, @Param('subject') subject: string, @Body(roleBody()) change: SetCollaboratorRoleBody): Promise<CollaboratorView> {
    return this.collaborators.setRole({ kind: 'server', slug }, subject, change.role);
  }

  @Delete(':subject')
  @HttpCode(204)
  @RequirePermission('server:manage')
  remove(@Param('slug') slug: string, @Param('subject') subject: string): Promise<void> {
    return this.collaborators.remove({ kind: 'server', slug }, subject);
  }
}

/** `/virtual-servers/{slug}/collaborators`: a virtual server has its own collaborators. */
@Controller('api/v1/virtual-servers/:slug/collaborators')
export class VirtualServerCollaboratorController {
  constructor(private readonly collaborators: CollaboratorService) {}

  @Get()
  @RequirePermission('virtual-server:read')
  list(@Param('slug') slug: string): Promise<CollaboratorList> {
    return this.collaborators.list({ kind: 'virtual-server', slug });
  }

  @Post()
  @RequirePermission('virtual-server:manage')
  add(@Param('slug') slug: string, @Body(body()) collaborator: CreateCollaboratorBody): Promise<CollaboratorView> {
    return this.collaborators.add({ kind: 'virtual-server', slug }, collaborator);
  }

  @Put(':subject')
  @RequirePermission('virtual-server:manage')
  setRole(@Param('slug') slug: string, @Param('subject') subject: string, @Body(roleBody()) change: SetCollaboratorRoleBody): Promise<CollaboratorView> {
    return this.collaborators.setRole({ kind: 'virtual-server', slug }, subject, change.role);
  }

  @Delete(':subject')
  @HttpCode(204)
  @RequirePermission('virtual-server:manage')
  remove(@Param('slug') slug: string, @Param('subject') subject: string): Promise<void> {
    return this.collaborators.remove({ kind: 'virtual-server', slug }, subject);
  }
}

/** `/groups/{name}/collaborators`: roles on every server of the group. */
@Controller('api/v1/groups/:name/collaborators')
export class GroupCollaboratorController {
  constructor(private readonly collaborators: CollaboratorService) {}

  @Get()
  @RequirePermission('group:read')
  list(@Param('name') name: string): Promise<CollaboratorList> {
    return this.collaborators.list({ kind: 'group', name });
  }

  @Post()
  @RequirePermission('group:manage')
  add(@Param('name') name: string, @Body(body()) collaborator: CreateCollaboratorBody): Promise<CollaboratorView> {
    return this.collaborators.add({ kind: 'group', name }, collaborator);
  }

  @Put(':subject')
  @RequirePermission('group:manage')
  setRole(@Param('name') name: string, @Param('subject') subject: string, @Body(roleBody()) change: SetCollaboratorRoleBody): Promise<CollaboratorView> {
    return this.collaborators.setRole({ kind: 'group', name }, subject, change.role);
  }

  @Delete(':subject')
  @HttpCode(204)
  @RequirePermission('group:manage')
  remove(@Param('name') name: string, @Param('subject') subject: string): Promise<void> {
    return this.collaborators.remove({ kind: 'group', name }, subject);
  }
}
