import { Body, Controller, Delete, Get, Header, HttpCode, Param, Post } from '@nestjs/common';
import type { ApiKeyView, Principal } from '@portcullis/contracts';
import { CurrentPrincipal } from '../access/current-principal.decorator';
import { RequirePermission } from '../access/require-permission.decorator';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { ApiKeyService } from './api-key.service';
import { CreateApiKeyBody, CreateApiKeyBodySchema } from './dto/api-key.dto';

@Controller('api/v1/api-keys')
export class ApiKeyController {
  constructor(private readonly apiKeys: ApiKeyService) {}

  @Post()
  @RequirePermission('api-keys:write')
  @Header('Cache-Control', 'no-store')
  create(@Body(new ZodValidationPipe(CreateApiKeyBodySchema, 'API key')) body: CreateApiKeyBody, @CurrentPrincipal() actor: Principal): Promise<{ apiKey: ApiKeyView; token: string }> {
    return this.apiKeys.create(body, actor);
  }

  @Get()
  @RequirePermission('api-keys:read')
  list(): Promise<{ items: ApiKeyView[] }> {
    return this.apiKeys.list();
  }

  @Delete(':id')
  @HttpCode(200)
  @RequirePermission('api-keys:write')
  revoke(@Param('id') id: string, @CurrentPrincipal() actor: Principal): Promise<ApiKeyView> {
    return this.apiKeys.revoke(id, actor);
  }
}
