import { Controller, Get, Param } from '@nestjs/common';
import { ProtectedResourceMetadata, WellKnownService } from './well-known.service';

/** Discovery documents; public by design (RFC 9728 §3). */
@Controller('.well-known')
export class WellKnownController {
  constructor(private readonly wellKnown: WellKnownService) {}

  @Get('oauth-protected-resource/mcp/:slug')
  protectedResource(@Param('slug') slug: string): Promise<ProtectedResourceMetadata> {
    return this.wellKnown.protectedResourceMetadata(slug);
  }
}
