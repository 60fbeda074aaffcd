import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { BusError, InProcessBus } from '@portcullis/bus';
import { AuditEvent, EventSubjects, OAuthSettings, Principal, RequestSubjects, VaultServer } from '@portcullis/contracts';
import { EnvelopeCipher, Keyring } from '@portcullis/crypto';
import { createLogger, PinoNestLogger } from '@portcullis/telemetry';
import { createTestDatabase, followAuthorization, startOidcProvider, TestDatabase, TestOidcProvider, uniqueSubjectPrefix, upstreamOAuthSettings } from '@portcullis/testing';
import { createRemoteJWKSet, jwtVerify, JWTPayload } from 'jose';
import { Client } from 'pg';
import { Clock } from '../../src/clock';
import { OAuthBindings } from '../../src/oauth/oauth-binding';
import { TokenVaultModule, TokenVaultModuleOptions } from '../../src/token-vault.module';

export const PUBLIC_URL = 'https://gateway.oauth.example';
export const REDIRECT_URI = `${PUBLIC_URL}/oauth/callback`;
/** The upstream MCP server the provider's tokens are for (RFC 8707 resource); never called by these tests. */
export const UPSTREAM_URL = 'http://127.0.0.1:9/mcp';

/** Real time plus an offset the test moves, as the provider's tokens live in real time. */
export class ShiftableClock extends Clock {
  offsetMs = 0;

  override now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

export const user = (name: string): Principal => ({ id: `user-${name}`, kind: 'user', sub: name, email: `${name}@example.com`, teams: [], isAdmin: false });

export interface VaultInstance {
  app: NestFastifyApplication;
  bus: InProcessBus;
  events: Array<{ serverId: string; principalId: string | null }>;
  audit: AuditEvent[];
}

/**
 * One database, the real oidc-provider as upstream authorization server, and
 * token-vault instances on that database (two when a test plays replicas).
 */
export class OAuthHarness {
  database!: TestDatabase;
  provider!: TestOidcProvider;
  sql!: Client;
  readonly keyring = Keyring.generate('k1');
  readonly clock = new ShiftableClock();
  readonly vaults: VaultInstance[] = [];
  /** The upstream MCP server URL: the resource of every token (UPSTREAM_URL unless a test runs a real server). */
  resource = UPSTREAM_URL;

  async start(options: {
    accessTokenTtlSeconds: number;
    replicas?: number;
    tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
    resource?: string;
  }): Promise<this> {
    this.resource = options.resource ?? UPSTREAM_URL;
    this.database = await createTestDatabase('vault_oauth');
    this.provider = await startOidcProvider({
      audience: 'https://idp-audience.example',
      upstream: { redirectUri: REDIRECT_URI, resource: this.resource, accessTokenTtlSeconds: options.accessTokenTtlSeconds, tokenEndpointAuthMethod: options.tokenEndpointAuthMethod },
    });
    for (let i = 0; i < (options.replicas ?? 1); i += 1) await this.addVault();
    this.sql = new Client({ connectionString: this.database.url });
    await this.sql.connect();
    return this;
  }

  /** One more token-vault on the same database (a replica); returns its index. */
  async addVault(extra: Partial<TokenVaultModuleOptions> = {}): Promise<number> {
    this.vaults.push(await this.startVault(extra));
    return this.vaults.length - 1;
  }

  private async startVault(extra: Partial<TokenVaultModuleOptions>): Promise<VaultInstance> {
    const bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    const events: VaultInstance['events'] = [];
    bus.on(EventSubjects.vaultChanged, (event) => void events.push(event));
    const audit: AuditEvent[] = [];
    await bus.consumeAudit(async (event) => void audit.push(event));
    const logger = createLogger({ service: 'token-vault', level: 'silent' });
    const app = await NestFactory.create<NestFastifyApplication>(
      TokenVaultModule.register({
        bus,
        closeBusOnShutdown: true,
        logger,
        databaseUrl: this.database.url,
        keyring: this.keyring,
        clock: this.clock,
        publicUrl: PUBLIC_URL,
        // The provider listens on loopback.
        outboundAllowPrivate: true,
        oauth: { refreshIntervalMs: 0 },
        ...extra,
      }),
      new FastifyAdapter(),
      { logger: new PinoNestLogger(logger) },
    );
    await app.init();
    return { app, bus, events, audit };
  }

  async stop(): Promise<void> {
    await this.sql?.end();
    for (const vault of this.vaults) await vault.app.close();
    await this.provider?.stop();
    await this.database?.drop();
  }

  /** Events of the first instance since `from`, once in-process delivery (asynchronous) has caught up. */
  async eventsSince(from: number): Promise<VaultInstance['events']> {
    await new Promise((resolve) => setTimeout(resolve, 20));
    return this.vaults[0].events.slice(from);
  }

  /** Audit events of every instance about this server, once in-process delivery has caught up. */
  async auditOf(server: VaultServer): Promise<AuditEvent[]> {
    await new Promise((resolve) => setTimeout(resolve, 20));
    return this.vaults.flatMap((vault) => vault.audit).filter((event) => event.server === server.slug);
  }

  get bus(): InProcessBus {
    return this.vaults[0].bus;
  }

  /** A new oauth2 server with only what an admin must give: the grant and scopes (the rest is for discovery). */
  async addBareServer(grantType: OAuthSettings['grantType'], scopes: string[] = ['mcp']): Promise<VaultServer> {
    const server: VaultServer = { id: randomUUID(), slug: `up-${randomUUID().slice(0, 8)}`, authType: 'oauth2', url: this.resource };
    await this.bus.request(RequestSubjects.vaultAdminServerOAuthPut, { server, settings: { grantType, scopes, tokenEndpointAuthMethod: 'client_secret_basic' } });
    return server;
  }

  /** A new oauth2 server with the provider's upstream client and the given grant. */
  async addServer(grantType: OAuthSettings['grantType'], overrides: Partial<OAuthSettings> = {}): Promise<VaultServer> {
    const server: VaultServer = { id: randomUUID(), slug: `up-${randomUUID().slice(0, 8)}`, authType: 'oauth2', url: this.resource };
    await this.bus.request(RequestSubjects.vaultAdminServerOAuthPut, {
      server,
      settings: upstreamOAuthSettings(this.provider, { grantType, ...overrides }),
    });
    return server;
  }

  resolve(principal: Principal, server: VaultServer, options: { vault?: number; subjectToken?: string } = {}) {
    return this.vaults[options.vault ?? 0].bus.request(RequestSubjects.vaultCredentialResolve, {
      principal,
      server,
      ...(options.subjectToken !== undefined && { subjectToken: options.subjectToken }),
    });
  }

  /** The flow's provider URL, followed as a browser signed in as `principal` at the provider would; returns the callback parameters. */
  async authorize(flowId: string, principal: Principal): Promise<URLSearchParams> {
    await this.provider.setNextLogin({ sub: principal.sub });
    const { authorizationUrl } = await this.bus.request(RequestSubjects.vaultOAuthConnect, { flowId, browserPrincipalId: principal.id });
    return (await followAuthorization(authorizationUrl, REDIRECT_URI)).searchParams;
  }

  callback(params: URLSearchParams, browserPrincipalId: string | null) {
    return this.bus.request(RequestSubjects.vaultOAuthCallback, {
      state: params.get('state') ?? '',
      ...(params.get('code') !== null && { code: params.get('code')! }),
      ...(params.get('iss') !== null && { iss: params.get('iss')! }),
      ...(params.get('error') !== null && { error: params.get('error')! }),
      browserPrincipalId,
    });
  }

  /** The whole consent as DESIGN §6 has it: resolve → consent_required → provider → callback. */
  async consent(principal: Principal, server: VaultServer): Promise<void> {
    const first = await this.resolve(principal, server);
    if (first.status !== 'consent_required') throw new Error(`expected consent_required, got ${first.status}`);
    await this.callback(await this.authorize(first.flowId, principal), principal.id);
  }

  /** Checks a served header as the upstream MCP server would: signature, issuer, audience; returns the claims. */
  async verifyBearer(headers: Record<string, string>): Promise<JWTPayload> {
    const token = /^Bearer (.+)$/.exec(headers['Authorization'] ?? '')?.[1];
    if (!token) throw new Error('no bearer token served');
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(this.provider.jwksUri)), { issuer: this.provider.issuer, audience: this.resource });
    return payload;
  }

  async tokenRow(server: VaultServer, principalId: string | null): Promise<TokenRow | undefined> {
    const { rows } = await this.sql.query<TokenRow>('SELECT * FROM vault.oauth_tokens WHERE server_id = $1 AND principal_id IS NOT DISTINCT FROM $2', [server.id, principalId]);
    return rows[0];
  }

  /** Opens a stored refresh token the way only the vault can (the test holds the keyring). */
  async storedRefreshToken(server: VaultServer, principalId: string): Promise<string> {
    const row = await this.tokenRow(server, principalId);
    if (!row) throw new Error('no stored connection');
    return new EnvelopeCipher(this.keyring).decrypt(row.sealed_refresh_token!, OAuthBindings.token({ id: row.id, serverId: row.server_id, principalId: row.principal_id }, 'refresh_token'));
  }

  /** A token request straight to the provider as the upstream client (what a stolen or stale refresh token would buy). */
  async providerToken(params: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
    const client = this.provider.upstreamClient!;
    const response = await fetch(`${this.provider.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async revokeAtProvider(token: string): Promise<void> {
    const client = this.provider.upstreamClient!;
    const response = await fetch(`${this.provider.issuer}/token/revocation`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'refresh_token' }).toString(),
    });
    if (!response.ok) throw new Error(`revocation failed: ${response.status}`);
  }
}

/** A `vault.oauth_tokens` row as PostgreSQL returns it. */
export interface TokenRow {
  id: string;
  server_id: string;
  principal_id: string | null;
  status: string;
  sealed_access_token: string | null;
  sealed_refresh_token: string | null;
  key_id: string | null;
  scopes: string[];
  expires_at: Date | null;
  refresh_failures: number;
  retry_after: Date | null;
}

export const busErrorOf = (promise: Promise<unknown>): Promise<BusError> =>
  promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (error: unknown) => error as BusError,
  );
