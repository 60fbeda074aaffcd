import { Body, Controller, Delete, Get, Header, HttpCode, Param, Post } from '@nestjs/common';
import type { ApiKeyView, Principal } from '@portcullis/contracts';
import { CurrentPrincipal } from '../access/current-principal.decorator';
import { RequirePermission } from '../access/require-permission.decorator';
import { ZodValidationPipe } from '../http/zod-validation.pipe';
import { ApiKeyService } from './api-key.service';
import { CreateApiKeyBody, CreateApiKeyBodySchema } from './dto/api-key.dto';

/** Admins manage every key; any other user only their own (the service narrows by principal). */
@Controller('api/v1/api-keys')
export class ApiKeyController {
  constructor(private readonly apiKeys: ApiKeyService) {}

  @Post()
  @RequirePermission('api-keys:own')
  @Header('Cache-Control', 'no-store')
  create(@Body(new ZodValidationPipe(CreateApiKeyBodySchema, 'API key')) body: CreateApiKeyBody, @CurrentPrincipal() actor: Principal): Promise<{ apiKey: ApiKeyView; token: string }> {
    return this.apiKeys.create(body, actor);
  }

  @Get()
  @RequirePermission('api-keys:own')
  list(@CurrentPrincipal() actor: Principal): Promise<{ items: ApiKeyView[] }> {
    return this.apiKeys.list(actor);
  }

  @Delete(':id')
  @HttpCode(200)
  @RequirePermission('api-keys:own')
  revoke(@Param('id') id: string, @CurrentPrincipal() actor: Principal): Promise<ApiKeyView> {
    return this.apiKeys.revoke(id, actor);
  }
}
