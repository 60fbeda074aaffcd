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
import { createLogger } from '@portcullis/telemetry';
import { uniqueSubjectPrefix } from '@portcullis/testing';
import { EdgeProxyModule } from '../src';

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

  register(bus: InProcessBus): void {
    bus.reply(RequestSubjects.identityAuthenticate, ServiceQueues.identity, async ({ token }) => {
      const known = this.tokens.get(token);
      if (!known) throw new BusError('UNAUTHENTICATED', 'unknown token');
      return known;
    });
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
    bus.reply(RequestSubjects.vaultCredentialResolve, ServiceQueues.tokenVault, async ({ server }) => {
      return this.credentials.get(server.id) ?? { status: 'ready', credentialKind: 'none', credentialId: null, headers: {}, expiresAt: null };
    });
  }

  addServer(server: ServerTarget, credential?: ResolvedCredential): ServerTarget {
    this.servers.set(server.slug, server);
    if (credential) this.credentials.set(server.id, credential);
    return server;
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
  close(): Promise<void>;
}

export interface StartEdgeOptions {
  maxRequestBytes?: number;
  /** Whether the stand-in identity, registry and vault answer on the bus (default true). */
  services?: boolean;
  /** `outboundAllowPrivate` of the edge (default true: test upstreams are on loopback). */
  outboundAllowPrivate?: boolean;
}

export async function startEdge(options: StartEdgeOptions = {}): Promise<RunningEdge> {
  const bus = new CountingBus({ subjectPrefix: uniqueSubjectPrefix() });
  const directory = new Directory();
  if (options.services !== false) directory.register(bus);
  const audit: AuditEvent[] = [];
  await bus.consumeAudit(async (event) => void audit.push(event));

  const app = await NestFactory.create<NestFastifyApplication>(
    EdgeProxyModule.register({
      bus,
      closeBusOnShutdown: true,
      logger: createLogger({ service: 'edge-proxy', level: 'silent' }),
      publicUrl: PUBLIC_URL,
      maxRequestBytes: options.maxRequestBytes ?? 64 * 1024,
      // Its own spool, so parallel test workers never replay each other's events.
      auditSpoolDir: mkdtempSync(join(tmpdir(), 'portcullis-edge-spool-')),
      // Test upstreams listen on loopback; the SSRF guard's own test turns this off.
      outboundAllowPrivate: options.outboundAllowPrivate ?? true,
    }),
    new FastifyAdapter(),
    { logger: false },
  );
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return { app, bus, directory, audit, baseUrl, mcpUrl: (slug) => `${baseUrl}/mcp/${slug}`, close: () => app.close() };
}

/** Waits until `condition` holds (events and audit are delivered asynchronously). */
export async function eventually(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Lets events already emitted on the in-process bus (delivered on a later tick) reach their listeners. */
export function settle(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } as const;

export function initializeRequest(id: number | string = 1): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1.0.0' } },
  });
}
