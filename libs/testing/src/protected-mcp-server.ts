import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { InvalidTokenError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import { getOAuthProtectedResourceMetadataUrl, mcpAuthMetadataRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import express from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createEchoServer } from './echo-mcp-server';

/** The authorization server whose JWT access tokens the server accepts. */
export interface TrustedAuthorizationServer {
  issuer: string;
  jwksUri: string;
}

/** One call the server accepted: whose token carried it. */
export interface AcceptedCall {
  sub: string | undefined;
  clientId: string;
  scopes: string[];
}

export interface ProtectedMcpServer {
  /** `http://127.0.0.1:<port>/mcp`: also the `aud` (RFC 8707 resource) its tokens must carry. */
  url: string;
  resourceMetadataUrl: string;
  /** Every request the bearer check let through, oldest first. */
  accepted: AcceptedCall[];
  /** How many requests were refused with 401. */
  refused(): number;
  /**
   * Trusts this provider from now on (until then every token is refused): the
   * provider needs this server's URL as its resource first, so it starts after.
   */
  trust(authorizationServer: TrustedAuthorizationServer): void;
  close(): Promise<void>;
}

/**
 * An OAuth-protected upstream MCP server, as a real one is built with the SDK:
 * `requireBearerAuth` checks each request's JWT against the provider's keys,
 * issuer and audience (this server's URL), answering 401 with
 * `WWW-Authenticate: Bearer resource_metadata=…`, and RFC 9728 metadata names
 * the provider. Stateless: every POST gets a fresh echo server.
 */
export async function startProtectedMcpServer(name = 'protected-echo'): Promise<ProtectedMcpServer> {
  const app = express();
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  const resourceMetadataUrl = getOAuthProtectedResourceMetadataUrl(new URL(url));
  let trusted: { issuer: string; jwks: ReturnType<typeof createRemoteJWKSet> } | null = null;
  const accepted: AcceptedCall[] = [];
  let refused = 0;

  const verifier = {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      if (!trusted) throw new InvalidTokenError('no authorization server is trusted yet');
      try {
        const { payload } = await jwtVerify(token, trusted.jwks, { issuer: trusted.issuer, audience: url, typ: 'at+jwt' });
        return {
          token,
          clientId: String(payload['client_id'] ?? ''),
          scopes: typeof payload['scope'] === 'string' ? payload['scope'].split(' ') : [],
          expiresAt: payload.exp,
          resource: new URL(url),
          extra: { sub: payload.sub },
        };
      } catch (error) {
        throw new InvalidTokenError(`token refused: ${(error as Error).message}`);
      }
    },
  };

  // RFC 9728 metadata names the trusted provider; mounted when it is known.
  const metadata = express.Router();
  app.use((req, res, next) => metadata(req, res, next));
  const bearer = requireBearerAuth({ verifier, resourceMetadataUrl, expectedResource: new URL(url) });
  app.use('/mcp', (req, res, next) => {
    res.on('finish', () => {
      if (res.statusCode === 401) refused += 1;
    });
    next();
  });
  app.post('/mcp', bearer, express.json(), async (req, res) => {
    const auth = req.auth as AuthInfo;
    accepted.push({ sub: auth.extra?.['sub'] as string | undefined, clientId: auth.clientId, scopes: auth.scopes });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void transport.close());
    await createEchoServer(name).connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  // Stateless: no GET stream, no session to delete.
  app.all('/mcp', bearer, (_req, res) => void res.status(405).set('allow', 'POST').end());

  return {
    url,
    resourceMetadataUrl,
    accepted,
    refused: () => refused,
    trust: ({ issuer, jwksUri }) => {
      trusted = { issuer, jwks: createRemoteJWKSet(new URL(jwksUri)) };
      metadata.use(
        mcpAuthMetadataRouter({
          oauthMetadata: { issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, response_types_supported: ['code'] },
          resourceServerUrl: new URL(url),
          scopesSupported: ['mcp'],
          resourceName: name,
        }),
      );
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
