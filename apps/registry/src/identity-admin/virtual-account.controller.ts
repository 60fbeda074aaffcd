import { Body, Controller, Delete, Get, Header, HttpCode, Param, Patch, Post } from '@nestjs/common';
import type { Principal, VirtualAccountTokenView, VirtualAccountView } from '@portcullis/contracts';
import { CurrentPrincipal } from '../access/current-principal.decorator';
import { RequirePermission } from '../access/require-permission.decorator';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import {
  CreateVirtualAccountBody,
  CreateVirtualAccountBodySchema,
  IssueVirtualAccountTokenBody,
  IssueVirtualAccountTokenBodySchema,
  RotateVirtualAccountTokenBody,
  RotateVirtualAccountTokenBodySchema,
  UpdateVirtualAccountBody,
  UpdateVirtualAccountBodySchema,
} from './dto/identity-admin.dto';
import { VirtualAccountService } from './virtual-account.service';

@Controller('api/v1/virtual-accounts')
export class VirtualAccountController {
  constructor(private readonly accounts: VirtualAccountService) {}

  @Post()
  @RequirePermission('virtual-accounts:write')
  create(@Body(new ZodValidationPipe(CreateVirtualAccountBodySchema, 'virtual account')) body: CreateVirtualAccountBody, @CurrentPrincipal() actor: Principal): Promise<VirtualAccountView> {
    return this.accounts.create(body, actor);
  }

  @Get()
  @RequirePermission('virtual-accounts:read')
  list(): Promise<{ items: VirtualAccountView[] }> {
    return this.accounts.list();
  }

  @Get(':name')
  @RequirePermission('virtual-accounts:read')
  get(@Param('name') name: string): Promise<VirtualAccountView> {
    return this.accounts.get(name);
  }

  @Patch(':name')
  @RequirePermission('virtual-accounts:write')
  update(
    @Param('name') name: string,
    @Body(new ZodValidationPipe(UpdateVirtualAccountBodySchema, 'virtual account changes')) body: UpdateVirtualAccountBody,
    @CurrentPrincipal() actor: Principal,
  ): Promise<VirtualAccountView> {
    return this.accounts.update(name, body, actor);
  }

  @Delete(':name')
  @HttpCode(200)
  @RequirePermission('virtual-accounts:write')
  delete(@Param('name') name: string, @CurrentPrincipal() actor: Principal): Promise<VirtualAccountView> {
    return this.accounts.delete(name, actor);
  }

  @Get(':name/tokens')
  @RequirePermission('virtual-accounts:read')
  listTokens(@Param('name') name: string): Promise<{ items: VirtualAccountTokenView[] }> {
    return this.accounts.listTokens(name);
  }

  @Post(':name/tokens')
  @Header('Cache-Control', 'no-store')
  @RequirePermission('virtual-accounts:write')
  issueToken(
    @Param('name') name: string,
    @Body(new ZodValidationPipe(IssueVirtualAccountTokenBodySchema, 'token')) body: IssueVirtualAccountTokenBody,
    @CurrentPrincipal() actor: Principal,
  ): Promise<{ virtualAccountToken: VirtualAccountTokenView; token: string }> {
    return this.accounts.issueToken(name, body, actor);
  }

  @Post(':name/tokens/:id/rotate')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @RequirePermission('virtual-accounts:write')
  rotateToken(
    @Param('name') name: string,
    @Param('id') id: string,
    @Body(new ZodValidationPipe(RotateVirtualAccountTokenBodySchema, 'rotation')) body: RotateVirtualAccountTokenBody,
    @CurrentPrincipal() actor: Principal,
  ): Promise<{ virtualAccountToken: VirtualAccountTokenView; token: string; previous: VirtualAccountTokenView }> {
    return this.accounts.rotateToken(name, id, body.graceSeconds, actor);
  }

  @Delete(':name/tokens/:id')
  @HttpCode(200)
  @RequirePermission('virtual-accounts:write')
  revokeToken(@Param('name') name: string, @Param('id') id: string, @CurrentPrincipal() actor: Principal): Promise<VirtualAccountTokenView> {
    return this.accounts.revokeToken(name, id, actor);
  }
}
