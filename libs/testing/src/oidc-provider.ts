import { ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, JsonWebKey, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { OAuthSettings } from '@portcullis/contracts';
import { freePort } from './gateway-harness';

/** A private signing key of the test IdP, as a JWK with `kid` and `alg`; tests use it to forge tokens the IdP "signed". */
export type TestSigningJwk = JsonWebKey & { kid: string; alg: 'ES256' | 'RS256'; use: 'sig' };

export interface MintOptions {
  sub: string;
  /** Extra claims put in the token (email, groups, org_id, ...). */
  claims?: Record<string, unknown>;
  ttlSeconds?: number;
}

/** A real OpenID provider (panva/oidc-provider) on a loopback port, issuing JWT access tokens. */
export interface TestOidcProvider {
  readonly issuer: string;
  readonly discoveryUrl: string;
  readonly jwksUri: string;
  /** The resource (`aud`) of every access token it issues. */
  readonly audience: string;
  readonly clientId: string;
  /** The key it signs with now. */
  signingKey(): TestSigningJwk;
  /** An access token (`typ: at+jwt`) for a user subject, through a test-only grant of the real provider. */
  mintAccessToken(options: MintOptions): Promise<string>;
  /** An ID token (audience: the client id) for a user subject. */
  mintIdToken(options: MintOptions): Promise<string>;
  /** A client_credentials access token (`sub` = the client id). */
  clientCredentialsToken(): Promise<string>;
  /** Signs with a new key from now on; the old key stays in the JWKS. Returns the new key. */
  rotateKey(): Promise<TestSigningJwk>;
  /** The public client (PKCE, no secret) for browser login; set when started with `browserRedirectUri`. */
  readonly browserClientId: string;
  /** The account the next browser login signs in as; `claims` go into its ID token (email, name, groups). */
  setNextLogin(login: { sub: string; claims?: Record<string, unknown> }): Promise<void>;
  /** How many times the JWKS was fetched since start. */
  jwksRequests(): Promise<number>;
  /** The confidential client of an upstream authorization server; set when started with `upstream`. */
  readonly upstreamClient: UpstreamClientCredentials | undefined;
  /** Token-endpoint requests by grant type since start (answered and refused) and answered revocations. */
  tokenStats(): Promise<TokenEndpointStats>;
  stop(): Promise<void>;
}

/** The provider as an upstream authorization server (the vault's side of DESIGN §5 `oauth2`). */
export interface UpstreamAuthorizationServerOptions {
  /** Where the provider sends the browser back, e.g. `{PUBLIC_URL}/oauth/callback`. */
  redirectUri: string;
  /** The upstream MCP server URL: the RFC 8707 resource and `aud` of the tokens. */
  resource: string;
  /** Access-token lifetime; short (e.g. 5) to exercise refresh. Default 300. */
  accessTokenTtlSeconds?: number;
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
}

/**
 * A server's `oauth2` settings (DESIGN §9 request shape) for the provider
 * started with `upstream`: its confidential client, its endpoints and the
 * `mcp` scope; `overrides` changes any of them (another token URL, a grant).
 */
export function upstreamOAuthSettings(provider: TestOidcProvider, overrides: Partial<OAuthSettings> = {}): OAuthSettings {
  const client = provider.upstreamClient;
  if (!client) throw new Error('the provider was started without `upstream`');
  return {
    grantType: 'authorization_code',
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    authorizationUrl: `${provider.issuer}/auth`,
    tokenUrl: `${provider.issuer}/token`,
    revocationUrl: `${provider.issuer}/token/revocation`,
    issuer: provider.issuer,
    scopes: ['mcp'],
    tokenEndpointAuthMethod: client.tokenEndpointAuthMethod,
    ...overrides,
  };
}

export interface UpstreamClientCredentials {
  clientId: string;
  clientSecret: string;
  tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post';
}

export interface TokenEndpointStats {
  /** Answered token requests by `grant_type` (`authorization_code`, `refresh_token`, ...). */
  grants: Record<string, number>;
  /** Refused token requests by `grant_type`. */
  grantErrors: Record<string, number>;
  revocations: number;
  /** Clients registered dynamically (RFC 7591). */
  registrations: number;
}

export function generateSigningJwk(alg: 'ES256' | 'RS256' = 'ES256'): TestSigningJwk {
  const { privateKey } = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg, use: 'sig' };
}

/** The script lives beside the sources (`libs/testing/oidc`); find it from sources or from dist. */
function scriptPath(): string {
  const candidates = [join(__dirname, '../oidc/test-idp.mjs'), join(__dirname, '../../../libs/testing/oidc/test-idp.mjs')];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`test-idp.mjs not found (looked in ${candidates.join(', ')})`);
  return found;
}

/**
 * Starts `oidc-provider` as a child process (it is ESM-only, which jest does
 * not load well) on a free loopback port and waits until it serves discovery.
 */
export async function startOidcProvider(options: {
  audience: string;
  alg?: 'ES256' | 'RS256';
  browserRedirectUri?: string;
  upstream?: UpstreamAuthorizationServerOptions;
}): Promise<TestOidcProvider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = `test-client-${randomBytes(4).toString('hex')}`;
  const clientSecret = randomBytes(24).toString('base64url');
  const browserClientId = `browser-${randomBytes(4).toString('hex')}`;
  const browserEnv = options.browserRedirectUri ? { BROWSER_CLIENT_ID: browserClientId, BROWSER_REDIRECT_URI: options.browserRedirectUri } : {};
  const upstreamClient: UpstreamClientCredentials | undefined = options.upstream && {
    clientId: `upstream-${randomBytes(4).toString('hex')}`,
    clientSecret: randomBytes(24).toString('base64url'),
    tokenEndpointAuthMethod: options.upstream.tokenEndpointAuthMethod ?? 'client_secret_basic',
  };
  const upstreamEnv =
    options.upstream && upstreamClient
      ? {
          UPSTREAM_CLIENT_ID: upstreamClient.clientId,
          UPSTREAM_CLIENT_SECRET: upstreamClient.clientSecret,
          UPSTREAM_AUTH_METHOD: upstreamClient.tokenEndpointAuthMethod,
          UPSTREAM_REDIRECT_URI: options.upstream.redirectUri,
          UPSTREAM_RESOURCE: options.upstream.resource,
          UPSTREAM_ACCESS_TOKEN_TTL: String(options.upstream.accessTokenTtlSeconds ?? 300),
        }
      : {};
  let key = generateSigningJwk(options.alg);
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [scriptPath()], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), AUDIENCE: options.audience, CLIENT_ID: clientId, CLIENT_SECRET: clientSecret, SIGNING_JWK: JSON.stringify(key), ...browserEnv, ...upstreamEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`test IdP exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${issuer}/.well-known/openid-configuration`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`test IdP did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  async function token(params: Record<string, string>): Promise<Record<string, unknown>> {
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    const body = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`test IdP refused a token request: ${JSON.stringify(body)}`);
    return body;
  }
  const mintParams = (kind: string, options: MintOptions) => ({
    grant_type: 'urn:portcullis:test:mint',
    kind,
    sub: options.sub,
    claims: JSON.stringify(options.claims ?? {}),
    ttl: String(options.ttlSeconds ?? 300),
  });

  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    jwksUri: `${issuer}/jwks`,
    audience: options.audience,
    clientId,
    signingKey: () => key,
    mintAccessToken: async (mint) => (await token(mintParams('access_token', mint))).access_token as string,
    mintIdToken: async (mint) => (await token(mintParams('id_token', mint))).id_token as string,
    clientCredentialsToken: async () => (await token({ grant_type: 'client_credentials', resource: options.audience, scope: 'mcp' })).access_token as string,
    rotateKey: async () => {
      const next = generateSigningJwk(options.alg);
      const response = await fetch(`${issuer}/test/rotate`, { method: 'POST', body: JSON.stringify(next) });
      if (!response.ok) throw new Error(`test IdP did not rotate its key: ${response.status}`);
      key = next;
      return next;
    },
    browserClientId,
    setNextLogin: async (login) => {
      const response = await fetch(`${issuer}/test/next-login`, { method: 'POST', body: JSON.stringify(login) });
      if (!response.ok) throw new Error(`test IdP did not take the next login: ${response.status}`);
    },
    jwksRequests: async () => ((await (await fetch(`${issuer}/test/stats`)).json()) as { jwksRequests: number }).jwksRequests,
    upstreamClient,
    tokenStats: async () => {
      const { grants, grantErrors, revocations, registrations } = (await (await fetch(`${issuer}/test/stats`)).json()) as TokenEndpointStats;
      return { grants, grantErrors, revocations, registrations };
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
