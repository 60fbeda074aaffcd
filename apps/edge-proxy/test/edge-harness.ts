import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { BusError, InProcessBus, RequestOptions } from '@portcullis/bus';
import {
  AccessDecision,
  AuthenticateResponse,
  AuditEvent,
  ConnectionStatus,
  ConnectionView,
  Principal,
  RequestOf,
  RequestSubject,
  RequestSubjects,
  ResolvedCredential,
  ResponseOf,
  ServerTarget,
  ServiceQueues,
  VirtualServerTarget,
} from '@portcullis/contracts';
import type { Keyring } from '@portcullis/crypto';
import { createLogger } from '@portcullis/telemetry';
import { eventually, uniqueSubjectPrefix } from '@portcullis/testing';

export { eventually };
import { EdgeProxyModule } from '../src';
import { SealedSessions } from '../src/sessions/sealed-sessions.service';

export const PUBLIC_URL = 'https://gateway.example.test';

/** An in-process bus that counts the requests it carries, to prove the hot path makes none. */
export class CountingBus extends InProcessBus {
  readonly requested: string[] = [];

  override async request<S extends RequestSubject>(subject: S, payload: RequestOf<S>, options?: RequestOptions): Promise<ResponseOf<S>> {
    this.requested.push(subject);
    return super.request(subject, payload, options);
  }
}

export function principal(overrides: Partial<Principal> = {}): Principal {
  return { id: randomUUID(), kind: 'user', sub: 'alice', email: 'alice@example.com', teams: [], isAdmin: false, credentialId: randomUUID(), ...overrides };
}

export function target(slug: string, url: string, overrides: Partial<ServerTarget> = {}): ServerTarget {
  return { id: randomUUID(), slug, name: slug, url, transport: 'streamable-http', authType: 'header', oauthGrantType: null, timeoutMs: 5000, ...overrides };
}

/**
 * Stand-ins for identity, registry and token-vault: real handlers on the real
 * bus, answering from maps the test fills.
 */
export class Directory {
  readonly tokens = new Map<string, AuthenticateResponse>();
  readonly servers = new Map<string, ServerTarget>();
  readonly credentials = new Map<string, ResolvedCredential>();
  /** Access decisions by slug; a slug without one lets every principal call every tool. */
  readonly decisions = new Map<string, (who: Principal) => AccessDecision>();
  readonly virtualServers = new Map<string, VirtualServerTarget>();
  /** What identity names as authorization servers (RFC 9728 metadata). */
  authorizationServers: string[] = [];
  /** Every `vault.credential.resolve` request, in order. */
  readonly credentialRequests: RequestOf<typeof RequestSubjects.vaultCredentialResolve>[] = [];
  /** Per-principal answers of `vault.credential.resolve` by server id; they win over `credentials`. */
  readonly credentialAnswers = new Map<string, (who: Principal) => ResolvedCredential>();
  /** Consent flows by id: who started them, and where `vault.oauth.connect` sends the browser. */
  readonly flows = new Map<string, { principalId: string; authorizationUrl: string }>();
  /** `vault.oauth.callback`: the answer for each valid state; any other state is refused like a forged one. States are single-use. */
  readonly callbackStates = new Map<string, ResponseOf<typeof RequestSubjects.vaultOAuthCallback>>();
  readonly callbackRequests: RequestOf<typeof RequestSubjects.vaultOAuthCallback>[] = [];
  readonly connectRequests: RequestOf<typeof RequestSubjects.vaultOAuthConnect>[] = [];
  readonly connections: ConnectionView[] = [];
  /** `vault.connection.status` answers by server id (default: authenticated). */
  readonly connectionStatuses = new Map<string, { status: ConnectionStatus; flowId: string | null }>();
  /** Per-user header values the vault holds, by `${principalId} ${serverId}`. */
  readonly userValues = new Map<string, Record<string, string>>();
  /** `identity.login.start`: the provider's URL when OIDC browser login is configured, else null. */
  oidcLoginUrl: string | null = null;

  register(bus: InProcessBus): void {
    bus.reply(RequestSubjects.identityAuthenticate, ServiceQueues.identity, async ({ token }) => {
      const known = this.tokens.get(token);
      if (!known) throw new BusError('UNAUTHENTICATED', 'unknown token');
      return known;
    });
    bus.reply(RequestSubjects.identityAuthorizationServers, ServiceQueues.identity, async () => ({ issuers: this.authorizationServers }));
    bus.reply(RequestSubjects.registryResolve, ServiceQueues.registry, async ({ slug }) => {
      const found = this.servers.get(slug);
      if (!found) throw new BusError('NOT_FOUND', `no server ${slug}`);
      return { target: found };
    });
    bus.reply(RequestSubjects.registryAuthorize, ServiceQueues.registry, async ({ principal: who, slug }) => {
      if (!this.servers.has(slug) && !this.virtualServers.has(slug)) throw new BusError('NOT_FOUND', `no server ${slug}`);
      return this.decisions.get(slug)?.(who) ?? allowAll();
    });
    bus.reply(RequestSubjects.registryResolveVirtual, ServiceQueues.registry, async ({ slug }) => {
      const found = this.virtualServers.get(slug);
      if (!found) throw new BusError('NOT_FOUND', `no virtual server ${slug}`);
      return { virtualServer: found };
    });
    bus.reply(RequestSubjects.vaultCredentialResolve, ServiceQueues.tokenVault, async (request) => {
      this.credentialRequests.push(request);
      const answer = this.credentialAnswers.get(request.server.id);
      if (answer) return answer(request.principal);
      return this.credentials.get(request.server.id) ?? { status: 'ready', credentialKind: 'none', credentialId: null, headers: {}, expiresAt: null };
    });
    this.registerVaultConnections(bus);
    bus.reply(RequestSubjects.identityLoginStart, ServiceQueues.identity, async () =>
      this.oidcLoginUrl === null ? { available: false as const } : { available: true as const, authorizationUrl: this.oidcLoginUrl },
    );
  }

  /** The vault's consent and `/me` subjects, answered from the maps above. */
  private registerVaultConnections(bus: InProcessBus): void {
    bus.reply(RequestSubjects.vaultOAuthConnect, ServiceQueues.tokenVault, async (request) => {
      this.connectRequests.push(request);
      const flow = this.flows.get(request.flowId);
      if (!flow) throw new BusError('NOT_FOUND', 'no such consent flow');
      if (request.browserPrincipalId !== null && request.browserPrincipalId !== flow.principalId) throw new BusError('FORBIDDEN', 'consent flow refused: started by another principal');
      return { authorizationUrl: flow.authorizationUrl };
    });
    bus.reply(RequestSubjects.vaultOAuthCallback, ServiceQueues.tokenVault, async (request) => {
      this.callbackRequests.push(request);
      const answer = this.callbackStates.get(request.state);
      if (!answer || request.error !== undefined) throw new BusError('FORBIDDEN', 'consent flow refused: unknown, used or expired state');
      this.callbackStates.delete(request.state);
      return answer;
    });
    bus.reply(RequestSubjects.vaultConnectionList, ServiceQueues.tokenVault, async (request) => ({
      connections: this.connections.filter((c) => ('principalId' in request ? c.principalId === request.principalId : c.serverId === request.serverId)),
    }));
    bus.reply(RequestSubjects.vaultConnectionStatus, ServiceQueues.tokenVault, async ({ server }) => this.connectionStatuses.get(server.id) ?? { status: 'authenticated', flowId: null });
    bus.reply(RequestSubjects.vaultConnectionDelete, ServiceQueues.tokenVault, async ({ principalId, serverId }) => {
      const index = this.connections.findIndex((c) => c.principalId === principalId && c.serverId === serverId);
      if (index >= 0) this.connections.splice(index, 1);
      return { deleted: index >= 0, revokedAtProvider: index >= 0 };
    });
    bus.reply(RequestSubjects.vaultUserCredentialPut, ServiceQueues.tokenVault, async ({ principal: who, server, values }) => {
      if (server.authType !== 'header') throw new BusError('INVALID_REQUEST', `server ${server.slug} takes no per-user values`, [{ path: 'server', message: 'takes no per-user values' }]);
      this.userValues.set(`${who.id} ${server.id}`, values);
      return { variables: Object.keys(values).sort() };
    });
    bus.reply(RequestSubjects.vaultUserCredentialDelete, ServiceQueues.tokenVault, async ({ principalId, serverId }) => ({
      deleted: this.userValues.delete(`${principalId} ${serverId}`) ? 1 : 0,
    }));
  }

  addServer(server: ServerTarget, credential?: ResolvedCredential): ServerTarget {
    this.servers.set(server.slug, server);
    if (credential) this.credentials.set(server.id, credential);
    return server;
  }

  /** A virtual server at `slug` (named after it) exposing `tools`. */
  addVirtualServer(slug: string, tools: VirtualServerTarget['tools'], extra: Pick<VirtualServerTarget, 'requiredScopes'> = {}): VirtualServerTarget {
    const virtualServer: VirtualServerTarget = { id: randomUUID(), slug, name: slug[0]!.toUpperCase() + slug.slice(1), tools, ...extra };
    this.virtualServers.set(slug, virtualServer);
    return virtualServer;
  }

  addToken(token: string, who: Principal, expiresAt: string | null = null): Principal {
    this.tokens.set(token, { principal: who, expiresAt });
    return who;
  }
}

export function allowAll(overrides: Partial<AccessDecision> = {}): AccessDecision {
  return { allowed: true, role: 'user', reason: 'test', visibleTools: null, toolRules: [], hiddenTools: [], descriptions: {}, ...overrides };
}

export interface RunningEdge {
  app: NestFastifyApplication;
  bus: CountingBus;
  directory: Directory;
  audit: AuditEvent[];
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  mcpUrl(slug: string): string;
  /** The `Mcp-Session-Id` this edge hands out to `who` for a session of `server` the upstream calls `upstreamSessionId`. */
  sealSession(who: Principal, server: ServerTarget, upstreamSessionId: string): string;
  close(): Promise<void>;
}

export interface StartEdgeOptions {
  maxRequestBytes?: number;
  /** Whether the stand-in identity, registry and vault answer on the bus (default true). */
  services?: boolean;
  /** `outboundAllowPrivate` of the edge (default true: test upstreams are on loopback). */
  outboundAllowPrivate?: boolean;
  /** `browserLoginApiKeyForm` of the edge (default false). */
  browserLoginApiKeyForm?: boolean;
  /** `sessionKeys` of the edge (default: a random key of this edge alone). */
  sessionKeys?: Keyring;
  /** The bus and stand-in services of another edge: a second replica behind the same load balancer. */
  sameBusAs?: RunningEdge;
}

export async function startEdge(options: StartEdgeOptions = {}): Promise<RunningEdge> {
  const shared = options.sameBusAs;
  const bus = shared?.bus ?? new CountingBus({ subjectPrefix: uniqueSubjectPrefix() });
  const directory = shared?.directory ?? new Directory();
  const audit: AuditEvent[] = shared?.audit ?? [];
  if (!shared) {
    if (options.services !== false) directory.register(bus);
    await bus.consumeAudit(async (event) => void audit.push(event));
  }

  const app = await NestFactory.create<NestFastifyApplication>(
    EdgeProxyModule.register({
      bus,
      // A second replica leaves the shared bus to the first.
      closeBusOnShutdown: !shared,
      logger: createLogger({ service: 'edge-proxy', level: 'silent' }),
      publicUrl: PUBLIC_URL,
      maxRequestBytes: options.maxRequestBytes ?? 64 * 1024,
      // Its own spool, so parallel test workers never replay each other's events.
      auditSpoolDir: mkdtempSync(join(tmpdir(), 'portcullis-edge-spool-')),
      // Test upstreams listen on loopback; the SSRF guard's own test turns this off.
      outboundAllowPrivate: options.outboundAllowPrivate ?? true,
      browserLoginApiKeyForm: options.browserLoginApiKeyForm ?? false,
      sessionKeys: options.sessionKeys,
    }),
    new FastifyAdapter(),
    { logger: false },
  );
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const sealSession = (who: Principal, server: ServerTarget, upstreamSessionId: string): string =>
    app.get(SealedSessions).seal({
      principalId: who.id,
      target: { kind: 'server', id: server.id, slug: server.slug },
      upstreamSessions: { [server.id]: upstreamSessionId },
      protocolVersion: '2025-06-18',
      urlElicitation: false,
    });
  return { app, bus, directory, audit, baseUrl, mcpUrl: (slug) => `${baseUrl}/mcp/${slug}`, sealSession, close: () => app.close() };
}


/** Lets events already emitted on the in-process bus (delivered on a later tick) reach their listeners. */
export function settle(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } as const;

export function initializeRequest(id: number | string = 1, capabilities: Record<string, unknown> = {}): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities, clientInfo: { name: 'raw', version: '1.0.0' } },
  });
}
