import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import type { Principal, UserView } from '@portcullis/contracts';
import { CurrentPrincipal } from '../access/current-principal.decorator';
import { RequirePermission } from '../access/require-permission.decorator';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { ListUsersQuery, ListUsersQuerySchema, UpdateUserBody, UpdateUserBodySchema } from './dto/identity-admin.dto';
import { UserService } from './user.service';

@Controller('api/v1/users')
export class UserController {
  constructor(private readonly users: UserService) {}

  @Get()
  @RequirePermission('users:read')
  list(@Query(new ZodValidationPipe(ListUsersQuerySchema, 'query')) query: ListUsersQuery): Promise<{ items: UserView[] }> {
    return this.users.list(query);
  }

  @Get(':id')
  @RequirePermission('users:read')
  get(@Param('id') id: string): Promise<UserView> {
    return this.users.get(id);
  }

  @Patch(':id')
  @RequirePermission('users:write')
  update(@Param('id') id: string, @Body(new ZodValidationPipe(UpdateUserBodySchema, 'user')) body: UpdateUserBody, @CurrentPrincipal() actor: Principal): Promise<UserView> {
    return this.users.update(id, body, actor);
  }

  @Post(':id/deactivate')
  @HttpCode(200)
  @RequirePermission('users:write')
  deactivate(@Param('id') id: string, @CurrentPrincipal() actor: Principal): Promise<{ user: UserView; revokedApiKeys: number }> {
    return this.users.setActive(id, false, actor);
  }

  @Post(':id/reactivate')
  @HttpCode(200)
  @RequirePermission('users:write')
  reactivate(@Param('id') id: string, @CurrentPrincipal() actor: Principal): Promise<{ user: UserView; revokedApiKeys: number }> {
    return this.users.setActive(id, true, actor);
  }
}
