/** Settings of the upstream OAuth feature, given to `TokenVaultModule.register`. */
export interface OAuthOptions {
  /**
   * The gateway's public URL (`PUBLIC_URL`, no trailing slash): the provider
   * sends the browser back to `{publicUrl}/oauth/callback`. Consent flows
   * refuse to start without it.
   */
  publicUrl: string | undefined;
  /**
   * The gateway's Client ID Metadata Document URL, used as its client_id at
   * authorization servers that advertise `client_id_metadata_document_supported`.
   * Default `{publicUrl}/oauth/client-metadata.json` (the edge serves it).
   */
  clientMetadataUrl?: string;
  /** Whether the vault may reach authorization servers on private, loopback or link-local addresses (`OUTBOUND_ALLOW_PRIVATE`). */
  outboundAllowPrivate: boolean;
  /** How often the refresh scheduler looks for tokens due; 0 disables the timer (tests call it directly). */
  refreshIntervalMs: number;
  /** The scheduler refreshes tokens expiring within this window. */
  refreshWindowMs: number;
  /** A token with less than this left (at most half its lifetime) is refreshed on demand before it is served. */
  refreshSkewMs: number;
  /** Timeout of each request to an authorization server. */
  httpTimeoutMs: number;
}

export const OAUTH_OPTIONS = Symbol('OAUTH_OPTIONS');

export const DEFAULT_OAUTH_OPTIONS: OAuthOptions = {
  publicUrl: undefined,
  outboundAllowPrivate: false,
  refreshIntervalMs: 15_000,
  refreshWindowMs: 60_000,
  refreshSkewMs: 30_000,
  httpTimeoutMs: 10_000,
};

/** How long a started consent flow may take (DESIGN §6). */
export const CONSENT_FLOW_TTL_MS = 10 * 60_000;
