import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@portcullis/telemetry';
import { OAuthHttpClient } from '../http/oauth-http.client';
import { DEFAULT_OAUTH_OPTIONS } from '../oauth.options';
import { bearerChallengeOf, OAuthDiscoveryService } from './oauth-discovery.service';

/** A real loopback HTTP server answering the given JSON documents by path (404 elsewhere), recording each request. */
async function startMetadataServer(documents: (origin: string) => Record<string, unknown>): Promise<{ origin: string; requests: Array<{ method: string; path: string }>; close(): Promise<void> }> {
  const requests: Array<{ method: string; path: string }> = [];
  let origin = '';
  const server: Server = createServer((request: IncomingMessage, response) => {
    requests.push({ method: request.method ?? '', path: request.url ?? '' });
    const document = documents(origin)[request.url ?? ''];
    if (request.method === 'POST') {
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
  const discovery = new OAuthDiscoveryService(http, createLogger({ service: 'discovery-spec', level: 'silent' }));
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
});
