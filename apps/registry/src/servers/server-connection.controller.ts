import { Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import type { ConnectionView } from '@portcullis/contracts';
import { RequirePermission } from '../access/require-permission.decorator';
import { ServerService } from './server.service';

/** Users' OAuth connections to a server (DESIGN §10): managers see status, scopes and expiry — never a token — and can disconnect anyone. */
@Controller('api/v1/servers/:slug/connections')
export class ServerConnectionController {
  constructor(private readonly servers: ServerService) {}

  @Get()
  @RequirePermission('server:manage')
  async list(@Param('slug') slug: string): Promise<{ items: ConnectionView[] }> {
    return { items: await this.servers.listConnections(slug) };
  }

  /** Revokes the subject's tokens at the provider (RFC 7009) where it has an endpoint, and forgets them. */
  @Delete(':principalId')
  @HttpCode(204)
  @RequirePermission('server:manage')
  async disconnect(@Param('slug') slug: string, @Param('principalId') principalId: string): Promise<void> {
    await this.servers.disconnect(slug, principalId);
  }
}
