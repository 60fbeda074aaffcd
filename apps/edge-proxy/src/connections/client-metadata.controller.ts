import { Controller, Get, Header } from '@nestjs/common';
import { PublicUrls } from '../public-urls';

/** The gateway's OAuth client metadata (draft-ietf-oauth-client-id-metadata-document §4.1). */
export interface ClientMetadataDocument {
  client_id: string;
  client_name: string;
  client_uri: string;
  redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  token_endpoint_auth_method: 'none';
}

/** Providers fetch it on each authorization they do not have cached; it changes only with PUBLIC_URL. */
const CACHE_CONTROL = 'public, max-age=3600';

/**
 * `GET {PUBLIC_URL}/oauth/client-metadata.json`: the document behind the
 * client_id the vault uses at authorization servers that advertise
 * `client_id_metadata_document_supported` (MCP 2025-11-25). Public by design:
 * the provider fetches it, with no credentials. A public client (auth `none`,
 * PKCE), redirected only to the gateway's own callback.
 */
@Controller('oauth')
export class ClientMetadataController {
  constructor(private readonly urls: PublicUrls) {}

  @Get('client-metadata.json')
  @Header('cache-control', CACHE_CONTROL)
  document(): ClientMetadataDocument {
    return {
      client_id: this.urls.clientMetadata(),
      client_name: 'Portcullis MCP gateway',
      client_uri: this.urls.home(),
      redirect_uris: [this.urls.oauthCallback()],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
}
