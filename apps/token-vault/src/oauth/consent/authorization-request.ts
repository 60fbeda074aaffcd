import { createHash, randomBytes } from 'node:crypto';

/** What the authorization code grant's front-channel request (RFC 6749 §4.1.1) carries, with PKCE and RFC 8707. */
export interface AuthorizationRequest {
  authorizationUrl: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state: string;
  codeVerifier: string;
  /** RFC 8707: the upstream MCP server's URL, in both this request and the code exchange. */
  resource: string;
}

/** A PKCE code verifier or a `state`: 256 random bits, base64url. */
export function randomOAuthSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The provider URL to send the browser to: PKCE S256, `scope` only when there are scopes, the RFC 8707 `resource`. */
export function authorizationUrlOf(request: AuthorizationRequest): string {
  const url = new URL(request.authorizationUrl);
  const params = {
    response_type: 'code',
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    ...(request.scopes.length > 0 && { scope: request.scopes.join(' ') }),
    state: request.state,
    code_challenge: createHash('sha256').update(request.codeVerifier).digest('base64url'),
    code_challenge_method: 'S256',
    resource: request.resource,
  };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.toString();
}

/** The token request exchanging the code the provider sent back (RFC 6749 §4.1.3, RFC 7636 §4.5, RFC 8707). */
export function codeExchangeParamsOf(request: Pick<AuthorizationRequest, 'redirectUri' | 'codeVerifier' | 'resource'>, code: string): Record<string, string> {
  return { grant_type: 'authorization_code', code, redirect_uri: request.redirectUri, code_verifier: request.codeVerifier, resource: request.resource };
}
