import { Inject, Injectable } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { RequestSubjects } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { BUS_REQUEST_TIMEOUT_MS } from '../access/bus-failures';
import { RequiredScopes } from '../access/scope-check';
import { TtlCache } from '../cache/ttl-cache';
import { Clock } from '../clock';
import { PublicUrls } from '../public-urls';

/** RFC 9728 protected resource metadata. */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  bearer_methods_supported: string[];
  resource_name: string;
  /** The scopes the target requires (MCP scope selection strategy); absent when it requires none. */
  scopes_supported?: string[];
}

/** How long the providers' issuers are served before identity is asked again; they change only when an admin edits a provider. */
export const ISSUERS_CACHE_TTL_MS = 60_000;

@Injectable()
export class WellKnownService {
  private readonly issuers: TtlCache<string[]>;
  /** What identity last said: served while it does not answer, as metadata is better stale than missing. */
  private lastIssuers: string[] = [];

  constructor(
    private readonly urls: PublicUrls,
    private readonly bus: Bus,
    private readonly clock: Clock,
    private readonly requiredScopes: RequiredScopes,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.issuers = new TtlCache(clock, 1);
  }

  /**
   * Served for any slug, known or not: the document is public, and answering
   * 404 for unknown slugs would let anyone enumerate the registry. Names the
   * issuers of the enabled identity providers: where a spec-only MCP client
   * gets a token this gateway accepts.
   */
  async protectedResourceMetadata(slug: string): Promise<ProtectedResourceMetadata> {
    const [authorizationServers, scopes] = await Promise.all([this.authorizationServers(), this.requiredScopes.of(slug)]);
    return {
      resource: this.urls.mcpResource(slug),
      authorization_servers: authorizationServers,
      bearer_methods_supported: ['header'],
      resource_name: `Portcullis MCP gateway: ${slug}`,
      // A target that requires scopes names them (so they are no secret); one that requires none looks like an unknown slug.
      ...(scopes.length > 0 && { scopes_supported: [...scopes] }),
    };
  }

  private async authorizationServers(): Promise<string[]> {
    try {
      return await this.issuers.getOrLoad('issuers', async () => {
        const { issuers } = await this.bus.request(RequestSubjects.identityAuthorizationServers, {}, { timeoutMs: BUS_REQUEST_TIMEOUT_MS });
        this.lastIssuers = issuers;
        return { value: issuers, cacheUntil: this.clock.nowMs() + ISSUERS_CACHE_TTL_MS };
      });
    } catch (error) {
      this.log.warn({ err: error }, 'identity did not name the authorization servers; serving the last known list');
      return this.lastIssuers;
    }
  }
}
