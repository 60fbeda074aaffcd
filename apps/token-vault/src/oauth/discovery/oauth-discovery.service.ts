import { Inject, Injectable } from '@nestjs/common';
import { TOKEN_EXCHANGE_GRANT_TYPE, type OAuthGrantType } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { oauthErrorCodeOf } from '../http/oauth-error-code';
import { OAuthHttpClient, OAuthTransportError, type JsonResponse } from '../http/oauth-http.client';
import { OAUTH_OPTIONS, type OAuthOptions } from '../oauth.options';
import type { TokenEndpointAuthMethod } from '../settings/oauth-settings.entity';

/** Why discovery or registration failed; a fixed phrase, safe for messages. */
export class OAuthDiscoveryError extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`OAuth discovery failed: ${reason}`, options);
    this.name = 'OAuthDiscoveryError';
  }
}

/** What the authorization server's metadata (RFC 8414 / OIDC discovery) says. */
export interface AuthorizationServerMetadata {
  issuer: string;
  authorizationUrl: string | null;
  tokenUrl: string;
  revocationUrl: string | null;
  registrationUrl: string | null;
  tokenEndpointAuthMethods: string[] | null;
  /** Whether the AS takes a Client ID Metadata Document URL as client_id (draft-ietf-oauth-client-id-metadata-document). */
  clientIdMetadataDocumentSupported: boolean;
}

export interface ProtectedResource {
  issuer: string;
  scopes: string[];
}

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,200}$/;

export interface RegisteredClient {
  clientId: string;
  clientSecret: string | null;
  authMethod: TokenEndpointAuthMethod;
  /** How the client id was obtained: the gateway's Client ID Metadata Document URL, or RFC 7591 registration. */
  registration: 'metadata_document' | 'dynamic';
}


/**
 * Finds an upstream's authorization server the way MCP clients do: the
 * server's 401 `WWW-Authenticate: Bearer resource_metadata=…` or its RFC 9728
 * protected resource metadata, then the AS metadata (RFC 8414, then OIDC
 * discovery); and obtains a client id: the gateway's Client ID Metadata
 * Document URL where the AS supports it, else RFC 7591 registration. Every
 * request goes through OAuthHttpClient, so a discovered URL on a private
 * address is refused unless private addresses are allowed.
 */
@Injectable()
export class OAuthDiscoveryService {
  /** The gateway's Client ID Metadata Document URL, or null when it has none a provider could accept (no https PUBLIC_URL). */
  readonly clientMetadataUrl: string | null;

  constructor(
    private readonly http: OAuthHttpClient,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(OAUTH_OPTIONS) options: Pick<OAuthOptions, 'publicUrl' | 'clientMetadataUrl'>,
  ) {
    const url = options.clientMetadataUrl ?? (options.publicUrl ? `${options.publicUrl.replace(/\/+$/, '')}/oauth/client-metadata.json` : null);
    this.clientMetadataUrl = url !== null && isClientIdMetadataUrl(url) ? url : null;
  }

  /**
   * The issuer the upstream MCP server names (the first of its
   * `authorization_servers`), and the scopes it asks for: its challenge's
   * `scope`, else its metadata's `scopes_supported`. A caller that already
   * holds the upstream's 401 `WWW-Authenticate` passes it; otherwise an
   * unauthenticated `initialize` draws one.
   */
  async protectedResourceOf(resource: string, wwwAuthenticate?: string): Promise<ProtectedResource> {
    const challenge = wwwAuthenticate === undefined ? await this.challengeOf(resource) : bearerChallengeOf(wwwAuthenticate);
    const metadata = await this.resourceMetadataOf(resource, challenge?.resourceMetadata ?? null);
    const servers = metadata['authorization_servers'];
    if (!Array.isArray(servers) || typeof servers[0] !== 'string' || !isHttpUrl(servers[0])) throw new OAuthDiscoveryError('protected resource metadata names no authorization server');
    const supported = metadata['scopes_supported'];
    const scopes = challenge?.scope?.split(' ') ?? (Array.isArray(supported) ? supported : []);
    return { issuer: servers[0], scopes: scopes.filter((scope): scope is string => typeof scope === 'string' && SCOPE_TOKEN.test(scope)).slice(0, 50) };
  }

  /** RFC 8414 metadata of `issuer`, else its OIDC discovery document; its `issuer` must be the one asked for. */
  async metadataOf(issuer: string): Promise<AuthorizationServerMetadata> {
    const candidates = [wellKnownUrl(issuer, 'oauth-authorization-server'), wellKnownUrl(issuer, 'openid-configuration'), `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`];
    for (const url of [...new Set(candidates)]) {
      const response = await this.request('GET', url, 'authorization server metadata');
      if (response.status !== 200 || !response.json) continue;
      const document = response.json;
      if (document['issuer'] !== issuer) throw new OAuthDiscoveryError('authorization server metadata names another issuer');
      const methods = document['code_challenge_methods_supported'];
      // MCP: PKCE support must be advertised, and S256 among it.
      if (!Array.isArray(methods) || !methods.includes('S256')) throw new OAuthDiscoveryError('authorization server does not advertise PKCE S256');
      const tokenUrl = document['token_endpoint'];
      if (!isHttpUrl(tokenUrl)) throw new OAuthDiscoveryError('authorization server metadata has no token endpoint');
      const authMethods = document['token_endpoint_auth_methods_supported'];
      return {
        issuer,
        authorizationUrl: isHttpUrl(document['authorization_endpoint']) ? document['authorization_endpoint'] : null,
        tokenUrl,
        revocationUrl: isHttpUrl(document['revocation_endpoint']) ? document['revocation_endpoint'] : null,
        registrationUrl: isHttpUrl(document['registration_endpoint']) ? document['registration_endpoint'] : null,
        tokenEndpointAuthMethods: Array.isArray(authMethods) ? authMethods.filter((m): m is string => typeof m === 'string') : null,
        clientIdMetadataDocumentSupported: document['client_id_metadata_document_supported'] === true,
      };
    }
    throw new OAuthDiscoveryError('authorization server publishes no metadata');
  }

  /**
   * The gateway's client at the authorization server, in the MCP order of
   * preference (2025-11-25, client registration): its Client ID Metadata
   * Document URL as client_id (a public client: auth `none`, PKCE) where the
   * AS advertises `client_id_metadata_document_supported` and the grant is
   * the authorization code, else RFC 7591 registration.
   */
  async clientFor(metadata: AuthorizationServerMetadata, request: { grantType: OAuthGrantType; redirectUri: string | null; scopes: string[] }): Promise<RegisteredClient> {
    if (request.grantType === 'authorization_code' && metadata.clientIdMetadataDocumentSupported && this.clientMetadataUrl !== null) {
      this.log.info({ issuer: metadata.issuer, clientId: this.clientMetadataUrl }, 'using the Client ID Metadata Document URL as client id');
      return { clientId: this.clientMetadataUrl, clientSecret: null, authMethod: 'none', registration: 'metadata_document' };
    }
    return this.register(metadata, request);
  }

  /** Registers the gateway as a client of the authorization server (RFC 7591). */
  async register(metadata: AuthorizationServerMetadata, request: { grantType: OAuthGrantType; redirectUri: string | null; scopes: string[] }): Promise<RegisteredClient> {
    if (!metadata.registrationUrl) throw new OAuthDiscoveryError('authorization server offers no client registration');
    const supported = metadata.tokenEndpointAuthMethods ?? ['client_secret_basic'];
    const authMethod: TokenEndpointAuthMethod = supported.includes('client_secret_basic') ? 'client_secret_basic' : supported.includes('client_secret_post') ? 'client_secret_post' : 'none';
    const grantTypes = { authorization_code: ['authorization_code', 'refresh_token'], client_credentials: ['client_credentials'], token_exchange: [TOKEN_EXCHANGE_GRANT_TYPE] }[request.grantType];
    const response = await this.request('POST', metadata.registrationUrl, 'client registration', {
      client_name: 'Portcullis MCP gateway',
      grant_types: grantTypes,
      response_types: request.grantType === 'authorization_code' ? ['code'] : [],
      redirect_uris: request.redirectUri ? [request.redirectUri] : [],
      token_endpoint_auth_method: authMethod,
      ...(request.scopes.length > 0 && { scope: request.scopes.join(' ') }),
    });
    const body = response.json;
    if ((response.status !== 201 && response.status !== 200) || !body || typeof body['client_id'] !== 'string' || body['client_id'].length === 0) {
      // Only a well-formed error code is repeated: a provider's free text (error_description) may echo anything.
      const code = oauthErrorCodeOf(body?.['error']);
      this.log.warn({ registrationUrl: metadata.registrationUrl, status: response.status, error: code }, 'client registration refused');
      throw new OAuthDiscoveryError(`client registration answered ${response.status}${code === null ? '' : ` ${code}`}`);
    }
    const granted = body['token_endpoint_auth_method'];
    const clientSecret = typeof body['client_secret'] === 'string' && body['client_secret'].length > 0 ? body['client_secret'] : null;
    this.log.info({ registrationUrl: metadata.registrationUrl, clientId: body['client_id'] }, 'registered as an OAuth client (RFC 7591)');
    return {
      clientId: body['client_id'],
      clientSecret,
      authMethod: granted === 'client_secret_basic' || granted === 'client_secret_post' || granted === 'none' ? granted : clientSecret ? authMethod : 'none',
      registration: 'dynamic',
    };
  }

  /**
   * RFC 9728 metadata: at the challenge's `resource_metadata`, else at the
   * path-based well-known location, then the root one (RFC 9728 §3.1, MCP
   * 2025-06-18). Each must describe the identifier its URL was formed from
   * (§3.3): the resource itself, or for the root location the origin.
   */
  private async resourceMetadataOf(resource: string, challenged: string | null): Promise<Record<string, unknown>> {
    const origin = new URL(resource).origin;
    const locations = challenged
      ? [{ url: challenged, describes: [resource] }]
      : [
          { url: wellKnownUrl(resource, 'oauth-protected-resource'), describes: [resource] },
          { url: `${origin}/.well-known/oauth-protected-resource`, describes: [origin, `${origin}/`] },
        ];
    let status = 0;
    for (const location of locations.filter((candidate, index) => locations.findIndex((other) => other.url === candidate.url) === index)) {
      const response = await this.request('GET', location.url, 'protected resource metadata');
      status = response.status;
      if (response.status !== 200 || !response.json) continue;
      // RFC 9728 §3.3: metadata for another resource must not be used.
      if (!location.describes.includes(response.json['resource'] as string)) throw new OAuthDiscoveryError('protected resource metadata names another resource');
      return response.json;
    }
    throw new OAuthDiscoveryError(`protected resource metadata answered ${status}`);
  }

  /** The upstream's 401 challenge to an unauthenticated MCP request, if it sends one. */
  private async challengeOf(resource: string): Promise<BearerChallenge | null> {
    const probe = await this.request('POST', resource, 'upstream MCP server', {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'portcullis-discovery', version: '1' } },
    }, { accept: 'application/json, text/event-stream' });
    if (probe.status !== 401 || !probe.wwwAuthenticate) return null;
    return bearerChallengeOf(probe.wwwAuthenticate);
  }

  private async request(method: 'GET' | 'POST', url: string, what: string, body?: unknown, headers?: Record<string, string>): Promise<JsonResponse> {
    try {
      return await this.http.exchangeJson(method, url, body, headers);
    } catch (error) {
      if (error instanceof OAuthTransportError) throw new OAuthDiscoveryError(`${what} unreachable (${error.reason})`, { cause: error });
      throw error;
    }
  }
}

/** What a `WWW-Authenticate: Bearer …` challenge (RFC 6750 §3, RFC 9728 §5.1) says that discovery and step-up use. */
export interface BearerChallenge {
  resourceMetadata: string | null;
  scope: string | null;
  error: string | null;
}

export function bearerChallengeOf(wwwAuthenticate: string): BearerChallenge {
  const resourceMetadata = /resource_metadata="([^"]+)"/i.exec(wwwAuthenticate)?.[1];
  const scope = /scope="([^"]*)"/i.exec(wwwAuthenticate)?.[1];
  const error = /(?:^|[\s,])error="([^"]*)"/i.exec(wwwAuthenticate)?.[1];
  return { resourceMetadata: resourceMetadata && isHttpUrl(resourceMetadata) ? resourceMetadata : null, scope: scope || null, error: error || null };
}

/** RFC 8414 §3 / RFC 9728 §3: the well-known segment goes between the origin and the path. */
function wellKnownUrl(base: string, name: string): string {
  const url = new URL(base);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return `${url.origin}/.well-known/${name}${path}`;
}

/**
 * A client_id a Client ID Metadata Document may have (draft-ietf-oauth-client-id-metadata-document §3):
 * https, a path, no fragment, no credentials, no dot segments.
 */
export function isClientIdMetadataUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const dotSegment = /\/\.{1,2}(?:[/?#]|$)/.test(value.replace(/^https:\/\//i, ''));
  return url.protocol === 'https:' && url.pathname !== '/' && !value.includes('#') && url.username === '' && url.password === '' && !dotSegment;
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
