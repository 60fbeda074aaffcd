import { OAuthSettingsSchema, type OAuthSettings } from '@portcullis/contracts';
import {
  authorizationUrlOf,
  bearerChallengeOf,
  codeExchangeParamsOf,
  randomOAuthSecret,
  type AuthorizationRequest,
  type AuthorizationServerMetadata,
  type OAuthClientConfig,
  type OAuthDiscoveryService,
  type TokenEndpointClient,
} from '@portcullis/token-vault';

/** Where the provider sends the user agent back, as the vault's `{PUBLIC_URL}/oauth/callback`; nothing listens there, the agent reads the redirect. */
const REDIRECT_URI = 'http://127.0.0.1/oauth/callback';
/** Redirects the headless user agent follows before it must have reached the redirect URI. */
const MAX_REDIRECTS = 5;

export interface VaultAuthorizerOptions {
  /** The MCP server URL: the RFC 8707 resource, as the vault stores `server.url`. */
  resource: string;
  discovery: OAuthDiscoveryService;
  endpoint: TokenEndpointClient;
  /** A client registered out of band (`client_id`/`client_secret`), as an admin gives it in the server's OAuth settings. */
  preRegistered: { clientId: string; clientSecret?: string } | null;
}

/**
 * An MCP client's OAuth as the token vault does it, for one user: on a 401 it
 * discovers the authorization server from the challenge (RFC 9728, RFC 8414 /
 * OIDC), uses its Client ID Metadata Document URL as client_id where the AS
 * supports it, else registers by RFC 7591, unless a client was pre-registered; and runs
 * the authorization code grant with PKCE S256 and RFC 8707 `resource`. The
 * browser's part is played headlessly: it follows the authorization URL and
 * takes the code from the redirect. A 403 `insufficient_scope` asks once for
 * the union of the granted and the challenged scopes (step-up).
 */
export class VaultAuthorizer {
  private accessToken: string | null = null;
  private grantedScopes: string[] = [];
  private server: AuthorizationServerMetadata | null = null;
  private client: OAuthClientConfig | null = null;
  authorizations = 0;

  constructor(private readonly options: VaultAuthorizerOptions) {}

  /** A `fetch` for the SDK transport: adds the bearer token, authorizes on 401, steps up once on 403 `insufficient_scope`. */
  readonly fetch = async (url: string | URL, init?: RequestInit): Promise<Response> => {
    let response = await fetch(url, this.withBearer(init));
    if (response.status === 401) {
      await this.authorize(await this.challengeOf(response), []);
      response = await fetch(url, this.withBearer(init));
    }
    const challenge = response.status === 403 ? response.headers.get('www-authenticate') : null;
    if (challenge !== null && bearerChallengeOf(challenge).error === 'insufficient_scope') {
      await response.body?.cancel();
      await this.authorize(challenge, this.grantedScopes);
      response = await fetch(url, this.withBearer(init));
    }
    return response;
  };

  private async challengeOf(response: Response): Promise<string> {
    await response.body?.cancel();
    return response.headers.get('www-authenticate') ?? 'Bearer';
  }

  private withBearer(init: RequestInit | undefined): RequestInit {
    const headers = new Headers(init?.headers);
    if (this.accessToken !== null) headers.set('authorization', `Bearer ${this.accessToken}`);
    return { ...init, headers };
  }

  /** Discovery (from the challenge held), registration once, consent and the code exchange; keeps the new token. */
  private async authorize(wwwAuthenticate: string, keepScopes: string[]): Promise<void> {
    this.authorizations += 1;
    const upstream = await this.options.discovery.protectedResourceOf(this.options.resource, wwwAuthenticate);
    this.server ??= await this.options.discovery.metadataOf(upstream.issuer);
    if (!this.server.authorizationUrl) throw new Error('the authorization server has no authorization endpoint');
    const scopes = [...new Set([...keepScopes, ...upstream.scopes])];
    this.client ??= await this.clientFor(this.server, scopes);
    const request: AuthorizationRequest = {
      authorizationUrl: this.server.authorizationUrl,
      clientId: this.client.clientId,
      redirectUri: REDIRECT_URI,
      scopes,
      state: randomOAuthSecret(),
      codeVerifier: randomOAuthSecret(),
      resource: this.options.resource,
    };
    const code = await this.consent(authorizationUrlOf(request), request.state, this.server.issuer);
    const issued = await this.options.endpoint.requestToken(this.client, codeExchangeParamsOf(request, code));
    this.accessToken = issued.accessToken;
    this.grantedScopes = issued.scopes ?? scopes;
  }

  private async clientFor(server: AuthorizationServerMetadata, scopes: string[]): Promise<OAuthClientConfig> {
    const endpoints = { tokenUrl: server.tokenUrl, revocationUrl: server.revocationUrl };
    if (this.options.preRegistered) {
      // Exactly what an admin's PUT of the server's OAuth settings would hold (defaults included).
      const settings: OAuthSettings = OAuthSettingsSchema.parse({ grantType: 'authorization_code', ...this.options.preRegistered });
      return { clientId: settings.clientId!, clientSecret: settings.clientSecret ?? null, authMethod: settings.tokenEndpointAuthMethod, ...endpoints };
    }
    // The vault's choice: its Client ID Metadata Document URL where the AS supports it, else RFC 7591.
    const registered = await this.options.discovery.clientFor(server, { grantType: 'authorization_code', redirectUri: REDIRECT_URI, scopes });
    return { clientId: registered.clientId, clientSecret: registered.clientSecret, authMethod: registered.authMethod, ...endpoints };
  }

  /** The user agent's part: follows the authorization URL to the redirect URI and returns the code, checking `state` and RFC 9207 `iss`. */
  private async consent(authorizationUrl: string, state: string, issuer: string): Promise<string> {
    let location = authorizationUrl;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      if (location.startsWith(`${REDIRECT_URI}?`)) {
        const answer = new URL(location).searchParams;
        if (answer.get('state') !== state) throw new Error('the redirect carries another state');
        const iss = answer.get('iss');
        if (iss !== null && iss !== issuer) throw new Error('the redirect names another issuer (RFC 9207)');
        const code = answer.get('code');
        if (!code) throw new Error(`the provider refused consent: ${answer.get('error') ?? 'no code'}`);
        return code;
      }
      const response = await fetch(location, { redirect: 'manual' });
      await response.body?.cancel();
      const next = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !next) throw new Error(`the authorization endpoint answered ${response.status} without a redirect`);
      location = new URL(next, location).toString();
    }
    throw new Error('too many redirects before the redirect URI');
  }
}
