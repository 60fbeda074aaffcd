import { Controller, Get, Header } from '@nestjs/common';
import { RequirePermission } from '../access/require-permission.decorator';
import { DOCS_PAGE, DOCS_PAGE_CSP } from './docs-page';
import { buildOpenApiDocument } from './openapi.document';

/** The OpenAPI document and a page to browse it. Public: they describe the API and hold no data. */
@Controller('api')
export class OpenApiController {
  private readonly document = buildOpenApiDocument();

  @Get('openapi.json')
  @RequirePermission('public')
  openApi(): Record<string, unknown> {
    return this.document;
  }

  @Get('docs')
  @RequirePermission('public')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', DOCS_PAGE_CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  docs(): string {
    return DOCS_PAGE;
  }
}
