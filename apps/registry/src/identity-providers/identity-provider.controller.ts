import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import type { IdentityProviderView, Principal } from '@portcullis/contracts';
import { CurrentPrincipal } from '../access/current-principal.decorator';
import { RequirePermission } from '../access/require-permission.decorator';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { CreateIdentityProviderBody, CreateIdentityProviderBodySchema, UpdateIdentityProviderBody, UpdateIdentityProviderBodySchema } from './dto/identity-provider.dto';
import { IdentityProviderService } from './identity-provider.service';

@Controller('api/v1/identity-providers')
export class IdentityProviderController {
  constructor(private readonly providers: IdentityProviderService) {}

  @Post()
  @RequirePermission('identity-providers:write')
  create(@Body(new ZodValidationPipe(CreateIdentityProviderBodySchema, 'identity provider')) body: CreateIdentityProviderBody, @CurrentPrincipal() actor: Principal): Promise<IdentityProviderView> {
    return this.providers.create(body, actor);
  }

  @Get()
  @RequirePermission('identity-providers:read')
  list(): Promise<{ items: IdentityProviderView[] }> {
    return this.providers.list();
  }

  @Get(':name')
  @RequirePermission('identity-providers:read')
  get(@Param('name') name: string): Promise<IdentityProviderView> {
    return this.providers.get(name);
  }

  @Patch(':name')
  @RequirePermission('identity-providers:write')
  update(
    @Param('name') name: string,
    @Body(new ZodValidationPipe(UpdateIdentityProviderBodySchema, 'identity provider changes')) body: UpdateIdentityProviderBody,
    @CurrentPrincipal() actor: Principal,
  ): Promise<IdentityProviderView> {
    return this.providers.update(name, body, actor);
  }

  @Delete(':name')
  @HttpCode(200)
  @RequirePermission('identity-providers:write')
  delete(@Param('name') name: string, @CurrentPrincipal() actor: Principal): Promise<IdentityProviderView> {
    return this.providers.delete(name, actor);
  }
}
