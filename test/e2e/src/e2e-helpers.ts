import type { AddressInfo } from 'node:net';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';

/** Shared plumbing of the end-to-end specs that assemble a gateway from the service modules themselves. */

export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** The body of an MCP `initialize` request from a client called `clientName`. */
export function initializeRequest(clientName: string): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: clientName, version: '1.0.0' } },
  });
}

/** `http://127.0.0.1:<port>` of an app listening on loopback. */
export const listeningUrl = (app: INestApplication): string => `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;

/**
 * Starts a module (on a loopback port when `listen`: that port when a number,
 * else a free one; only initialised otherwise) and remembers it in `apps` for closing.
 */
export function moduleStarter(apps: INestApplication[]) {
  return async (module: Parameters<typeof NestFactory.create>[0], listen: boolean | number): Promise<NestFastifyApplication> => {
    const app = await NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), { logger: false });
    if (listen !== false) await app.listen(listen === true ? 0 : listen, '127.0.0.1');
    else await app.init();
    apps.push(app);
    return app;
  };
}

/** One admin API call over real HTTP; answers the status and the parsed body. */
export async function adminRequest(baseUrl: string, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/**
 * A stock SDK client's OAuth side (`OAuthClientProvider`) for an interactive
 * agent: it holds the tokens it was given and records where the SDK would
 * send the user (each authorization request it built from the gateway's
 * challenge and metadata), instead of opening a browser.
 */
export class RecordingOAuthClient implements OAuthClientProvider {
  readonly authorizationRequests: URL[] = [];
  private saved: OAuthTokens | undefined;
  private verifier = '';

  constructor(
    private readonly client: { clientId: string; clientSecret?: string; clientName: string; redirectUri: string },
  ) {}

  get redirectUrl(): string {
    return this.client.redirectUri;
  }

  get clientMetadata(): OAuthClientMetadata {
    const authMethod = this.client.clientSecret === undefined ? 'none' : 'client_secret_post';
    return { client_name: this.client.clientName, redirect_uris: [this.client.redirectUri], token_endpoint_auth_method: authMethod };
  }

  clientInformation(): OAuthClientInformationMixed {
    return { client_id: this.client.clientId, ...(this.client.clientSecret !== undefined && { client_secret: this.client.clientSecret }) };
  }

  tokens(): OAuthTokens | undefined {
    return this.saved;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens;
  }

  redirectToAuthorization(authorizationUrl: URL): void {
    this.authorizationRequests.push(authorizationUrl);
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.verifier = codeVerifier;
  }

  codeVerifier(): string {
    return this.verifier;
  }
}
