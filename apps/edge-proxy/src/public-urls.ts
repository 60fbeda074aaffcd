import { Inject, Injectable } from '@nestjs/common';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from './edge-proxy.options';

/**
 * The edge's public addresses. Slugs come from the request path, so they are
 * percent-encoded here: a slug can never break out of a URL or a header.
 */
@Injectable()
export class PublicUrls {
  private readonly base: string;

  constructor(@Inject(EDGE_PROXY_OPTIONS) options: EdgeProxyModuleOptions) {
    this.base = options.publicUrl.replace(/\/+$/, '');
  }

  /** The protected resource (RFC 9728 `resource`) an agent talks to for one server. */
  mcpResource(slug: string): string {
    return `${this.base}/mcp/${encodeURIComponent(slug)}`;
  }

  /** Where that resource's protected resource metadata lives (RFC 9728 §3.1). */
  resourceMetadata(slug: string): string {
    return `${this.base}/.well-known/oauth-protected-resource/mcp/${encodeURIComponent(slug)}`;
  }

  /** Where a user consents to an upstream (DESIGN §6): the gateway's page, never the provider's. */
  connect(flowId: string): string {
    return `${this.base}/connect/${encodeURIComponent(flowId)}`;
  }

  /** Where providers send the browser back after consent (the vault's redirect URI). */
  oauthCallback(): string {
    return `${this.base}/oauth/callback`;
  }

  /** The gateway's Client ID Metadata Document: its client_id at providers that support them (the vault's default). */
  clientMetadata(): string {
    return `${this.base}/oauth/client-metadata.json`;
  }

  /** The gateway's home page, as a client's `client_uri`. */
  home(): string {
    return this.base;
  }

  /** Where a user sets their own values of a `per_user` header server. */
  userCredentials(slug: string): string {
    return `${this.base}/me/credentials/${encodeURIComponent(slug)}`;
  }
}
