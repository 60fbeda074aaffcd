import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { AuditModule } from '@portcullis/audit';
import { InProcessBus } from '@portcullis/bus';
import { Keyring } from '@portcullis/crypto';
import { EdgeProxyModule } from '@portcullis/edge-proxy';
import { IdentityModule } from '@portcullis/identity';
import { RegistryModule } from '@portcullis/registry';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, freePort, generateVaultKeys, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { TokenVaultModule } from '@portcullis/token-vault';

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

/** The five service modules on one in-process bus and a database of their own, as `startModuleGateway` assembles them. */
export interface ModuleGateway {
  /** `http://127.0.0.1:<port>`: the edge, and the gateway's PUBLIC_URL (so 401 challenges and consent links point at it). */
  edgeUrl: string;
  registryUrl: string;
  bus: InProcessBus;
  /** An admin API key identity ensured at start. */
  adminToken: string;
  /** An admin REST call to the registry with that key. */
  admin(method: string, path: string, body?: unknown): ReturnType<typeof adminRequest>;
  close(): Promise<void>;
}

/**
 * identity (with token-exchange keys), token-vault, audit, registry and the
 * edge as Nest apps on one in-process bus over a fresh database, loopback
 * upstreams allowed: the common set-up of the end-to-end specs that need the
 * whole gateway but not separate processes.
 */
export async function startModuleGateway(name: string): Promise<ModuleGateway> {
  const database: TestDatabase = await createTestDatabase(name);
  const bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
  const apps: INestApplication[] = [];
  const adminToken = `bootstrap-admin-${randomBytes(24).toString('base64url')}`;
  const close = async () => {
    for (const app of apps.reverse()) await app.close();
    await bus.close();
    await database.drop();
  };
  try {
    const edgePort = await freePort();
    const edgeUrl = `http://127.0.0.1:${edgePort}`;
    const runtime = { bus, closeBusOnShutdown: false, logger: createLogger({ service: name, level: 'silent' }), databaseUrl: database.url };
    const create = moduleStarter(apps);
    await create(IdentityModule.register({ ...runtime, bootstrapAdminToken: adminToken, keyring: Keyring.parse(generateVaultKeys()), publicUrl: edgeUrl }), false);
    await create(TokenVaultModule.register({ ...runtime, keyring: Keyring.parse(generateVaultKeys()), publicUrl: edgeUrl, outboundAllowPrivate: true }), false);
    await create(AuditModule.register(runtime), true);
    const registryUrl = listeningUrl(await create(RegistryModule.register({ ...runtime, outboundAllowPrivate: true }), true));
    const auditSpoolDir = mkdtempSync(join(tmpdir(), `${name}-spool-`));
    await create(EdgeProxyModule.register({ ...runtime, publicUrl: edgeUrl, maxRequestBytes: 64 * 1024, auditSpoolDir, outboundAllowPrivate: true }), edgePort);
    return { edgeUrl, registryUrl, bus, adminToken, admin: (method, path, body) => adminRequest(registryUrl, adminToken, method, path, body), close };
  } catch (error) {
    await close();
    throw error;
  }
}
