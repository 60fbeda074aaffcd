import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@portcullis/telemetry';
import { OAuthHttpClient } from '../http/oauth-http.client';
import { DEFAULT_OAUTH_OPTIONS } from '../oauth.options';
import { authorizationUrlOf } from '../consent/authorization-request';
import { bearerChallengeOf, isClientIdMetadataUrl, OAuthDiscoveryService } from './oauth-discovery.service';

/** A real loopback HTTP server answering the given JSON documents by path (404 elsewhere; a POST to a listed path gets 201 with it, else 401), recording each request. */
async function startMetadataServer(documents: (origin: string) => Record<string, unknown>): Promise<{ origin: string; requests: Array<{ method: string; path: string }>; close(): Promise<void> }> {
  const requests: Array<{ method: string; path: string }> = [];
  let origin = '';
  const server: Server = createServer((request: IncomingMessage, response) => {
    requests.push({ method: request.method ?? '', path: request.url ?? '' });
    const document = documents(origin)[request.url ?? ''];
    if (request.method === 'POST' && document !== undefined) {
      response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(document));
    } else if (request.method === 'POST') {
      response.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    } else if (document === undefined) {
      response.writeHead(404).end();
    } else {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe(OAuthDiscoveryService.name, () => {
  const http = new OAuthHttpClient({ ...DEFAULT_OAUTH_OPTIONS, outboundAllowPrivate: true, httpTimeoutMs: 5_000 });
  const log = createLogger({ service: 'discovery-spec', level: 'silent' });
  const discovery = new OAuthDiscoveryService(http, log, { publicUrl: 'https://gateway.example' });
  afterAll(() => http.onModuleDestroy());

  it('falls back to the root protected resource metadata (RFC 9728 §3.1) when the path-based location answers 404', async () => {
    const upstream = await startMetadataServer((origin) => ({
      '/.well-known/oauth-protected-resource': { resource: origin, authorization_servers: ['https://as.example/tenant1'], scopes_supported: ['mcp:read'] },
    }));
    try {
      await expect(discovery.protectedResourceOf(`${upstream.origin}/mcp`)).resolves.toEqual({ issuer: 'https://as.example/tenant1', scopes: ['mcp:read'] });
      expect(upstream.requests.filter((r) => r.method === 'GET').map((r) => r.path)).toEqual(['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']);
    } finally {
      await upstream.close();
    }
  });

  it('refuses root metadata that describes another resource than the origin (RFC 9728 §3.3 mix-up)', async () => {
    const upstream = await startMetadataServer(() => ({
      '/.well-known/oauth-protected-resource': { resource: 'https://evil.example', authorization_servers: ['https://evil.example'] },
    }));
    try {
      await expect(discovery.protectedResourceOf(`${upstream.origin}/mcp`)).rejects.toThrow('protected resource metadata names another resource');
    } finally {
      await upstream.close();
    }
  });

  it("uses the challenge the caller already holds (no probe): its resource_metadata and scope", async () => {
    const upstream = await startMetadataServer((origin) => ({
      '/custom/metadata.json': { resource: `${origin}/mcp`, authorization_servers: ['https://as.example'], scopes_supported: ['ignored'] },
    }));
    try {
      const challenge = `Bearer error="invalid_token", scope="mcp:basic", resource_metadata="${upstream.origin}/custom/metadata.json"`;
      await expect(discovery.protectedResourceOf(`${upstream.origin}/mcp`, challenge)).resolves.toEqual({ issuer: 'https://as.example', scopes: ['mcp:basic'] });
      expect(upstream.requests).toEqual([{ method: 'GET', path: '/custom/metadata.json' }]);
    } finally {
      await upstream.close();
    }
  });

  it('reads error, scope and resource_metadata of a step-up challenge, not error_description', () => {
    expect(bearerChallengeOf('Bearer error_description="x", scope="a b", error="insufficient_scope", resource_metadata="https://rs.example/.well-known/oauth-protected-resource"')).toEqual({
      error: 'insufficient_scope',
      scope: 'a b',
      resourceMetadata: 'https://rs.example/.well-known/oauth-protected-resource',
    });
    expect(bearerChallengeOf('Bearer resource_metadata="javascript:alert(1)"')).toEqual({ error: null, scope: null, resourceMetadata: null });
  });
  describe('the client id: Client ID Metadata Document or RFC 7591 registration', () => {
    const asMetadata = (origin: string, extra: Record<string, unknown>) => ({
      '/.well-known/oauth-authorization-server': {
        issuer: origin,
        authorization_endpoint: `${origin}/authorize`,
        token_endpoint: `${origin}/token`,
        registration_endpoint: `${origin}/register`,
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'none'],
        ...extra,
      },
      '/register': { client_id: 'registered-client', client_secret: 'registered-secret', token_endpoint_auth_method: 'client_secret_basic' },
    });
    const request = { grantType: 'authorization_code' as const, redirectUri: 'https://gateway.example/oauth/callback', scopes: ['mcp'] };

    it('uses {PUBLIC_URL}/oauth/client-metadata.json as a public client (auth none) where the AS advertises client_id_metadata_document_supported, without registering', async () => {
      const as = await startMetadataServer((origin) => asMetadata(origin, { client_id_metadata_document_supported: true }));
      try {
        const metadata = await discovery.metadataOf(as.origin);
        expect(metadata.clientIdMetadataDocumentSupported).toBe(true);
        const client = await discovery.clientFor(metadata, request);
        expect(client).toEqual({ clientId: 'https://gateway.example/oauth/client-metadata.json', clientSecret: null, authMethod: 'none', registration: 'metadata_document' });
        expect(as.requests.filter((r) => r.method === 'POST')).toEqual([]);
        // The authorization request names the document's URL as client_id, with PKCE S256.
        const url = new URL(authorizationUrlOf({ authorizationUrl: metadata.authorizationUrl!, clientId: client.clientId, redirectUri: request.redirectUri, scopes: request.scopes, state: 's', codeVerifier: 'v'.repeat(43), resource: 'https://mcp.example/mcp' }));
        expect(url.searchParams.get('client_id')).toBe('https://gateway.example/oauth/client-metadata.json');
        expect(url.searchParams.get('code_challenge_method')).toBe('S256');
      } finally {
        await as.close();
      }
    });

    it('registers by RFC 7591 where the AS does not advertise Client ID Metadata Documents', async () => {
      const as = await startMetadataServer((origin) => asMetadata(origin, {}));
      try {
        const metadata = await discovery.metadataOf(as.origin);
        expect(metadata.clientIdMetadataDocumentSupported).toBe(false);
        await expect(discovery.clientFor(metadata, request)).resolves.toEqual({ clientId: 'registered-client', clientSecret: 'registered-secret', authMethod: 'client_secret_basic', registration: 'dynamic' });
        expect(as.requests.filter((r) => r.method === 'POST')).toEqual([{ method: 'POST', path: '/register' }]);
      } finally {
        await as.close();
      }
    });

    it('registers by RFC 7591 for client credentials even where Client ID Metadata Documents are supported (a public client cannot use that grant)', async () => {
      const as = await startMetadataServer((origin) => asMetadata(origin, { client_id_metadata_document_supported: true }));
      try {
        const client = await discovery.clientFor(await discovery.metadataOf(as.origin), { grantType: 'client_credentials', redirectUri: null, scopes: [] });
        expect(client).toMatchObject({ clientId: 'registered-client', registration: 'dynamic' });
      } finally {
        await as.close();
      }
    });

    it('registers by RFC 7591 when the gateway has no https metadata URL a provider could fetch (PUBLIC_URL on http or unset)', async () => {
      const as = await startMetadataServer((origin) => asMetadata(origin, { client_id_metadata_document_supported: true }));
      try {
        const metadata = await discovery.metadataOf(as.origin);
        for (const options of [{ publicUrl: 'http://gateway.internal:8080' }, { publicUrl: undefined }]) {
          const plain = new OAuthDiscoveryService(http, log, options);
          expect(plain.clientMetadataUrl).toBeNull();
          await expect(plain.clientFor(metadata, request)).resolves.toMatchObject({ clientId: 'registered-client', registration: 'dynamic' });
        }
      } finally {
        await as.close();
      }
    });

    it('takes a configured metadata URL over the one derived from PUBLIC_URL', () => {
      expect(new OAuthDiscoveryService(http, log, { publicUrl: 'https://gateway.example/', clientMetadataUrl: 'https://clients.example/portcullis.json' }).clientMetadataUrl).toBe('https://clients.example/portcullis.json');
      expect(new OAuthDiscoveryService(http, log, { publicUrl: 'https://gateway.example/' }).clientMetadataUrl).toBe('https://gateway.example/oauth/client-metadata.json');
    });

    it('accepts only client_id URLs the draft allows: https, a path, no fragment, credentials or dot segments', () => {
      expect(isClientIdMetadataUrl('https://gateway.example/oauth/client-metadata.json')).toBe(true);
      for (const url of ['http://gateway.example/oauth/client-metadata.json', 'https://gateway.example', 'https://gateway.example/', 'https://gateway.example/a.json#x', 'https://user:pw@gateway.example/a.json', 'https://gateway.example/oauth/../a.json', 'https://gateway.example/./a.json', 'not a url']) {
        expect([url, isClientIdMetadataUrl(url)]).toEqual([url, false]);
      }
    });
  });
});
