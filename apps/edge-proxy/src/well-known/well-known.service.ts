import { Injectable } from '@nestjs/common';
import { PublicUrls } from '../public-urls';

/** RFC 9728 protected resource metadata (the fields this edge can state so far). */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  bearer_methods_supported: string[];
}

@Injectable()
export class WellKnownService {
  constructor(private readonly urls: PublicUrls) {}

  /**
   * Served for any slug, known or not: the document is public, and answering
   * 404 for unknown slugs would let anyone enumerate the registry.
   */
  protectedResourceMetadata(slug: string): ProtectedResourceMetadata {
    // TODO(oauth): name the configured authorization server(s) once identity providers are wired in (DESIGN §7).
    return { resource: this.urls.mcpResource(slug), authorization_servers: [], bearer_methods_supported: ['header'] };
  }
}
