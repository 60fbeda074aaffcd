import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AuditModule } from '@portcullis/audit';
import { InProcessBus } from '@portcullis/bus';
import { RequestSubjects } from '@portcullis/contracts';
import { Keyring } from '@portcullis/crypto';
import { EdgeProxyModule, SealedSessions } from '@portcullis/edge-proxy';
import { IdentityModule } from '@portcullis/identity';
import { RegistryModule } from '@portcullis/registry';
import { createLogger } from '@portcullis/telemetry';
import { TokenVaultModule } from '@portcullis/token-vault';
import { createTestDatabase, EchoMcpServer, generateVaultKeys, startEchoMcpServer, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';

jest.setTimeout(60_000);

const ADMIN_TOKEN = `pcl_trace_${randomBytes(24).toString('base64url')}`;
const UPSTREAM_SECRET = `upstream-${randomBytes(12).toString('hex')}`;

/**
 * DESIGN §3/§4: one agent tool call is one trace across edge → identity →
 * registry → token-vault (on cache misses) → audit, with the upstream call as
 * a child span. Every service in one process on the in-process bus, spans kept in memory.
 */
describe('tracing one tool call end to end', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let database: TestDatabase;
  let echo: EchoMcpServer;
  let spoolDir: string;
  const apps: INestApplication[] = [];
  let edgeUrl: string;
  /** Seals an upstream session id into the `Mcp-Session-Id` the edge would have handed the admin out. */
  let sealForAdmin: (upstreamSessionId: string) => string;

  beforeAll(async () => {
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());

    database = await createTestDatabase('tracing');
    echo = await startEchoMcpServer();
    spoolDir = mkdtempSync(join(tmpdir(), 'portcullis-trace-spool-'));
    const bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    const runtime = (service: string) => ({ bus, closeBusOnShutdown: false, logger: createLogger({ service, level: 'silent' }), databaseUrl: database.url });
    const create = async (module: Parameters<typeof NestFactory.create>[0], listen = false) => {
      const app = await NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), { logger: false });
      if (listen) await app.listen(0, '127.0.0.1');
      else await app.init();
      apps.push(app);
      return app;
    };
    await create(IdentityModule.register({ ...runtime('identity'), bootstrapAdminToken: ADMIN_TOKEN }));
    await create(TokenVaultModule.register({ ...runtime('token-vault'), keyring: Keyring.parse(generateVaultKeys()) }));
    await create(AuditModule.register(runtime('audit')));
    const registry = await create(RegistryModule.register({ ...runtime('registry'), outboundAllowPrivate: true }), true);
    const edge = await create(
      EdgeProxyModule.register({ ...runtime('edge-proxy'), publicUrl: 'http://localhost:8080', maxRequestBytes: 1 << 20, auditSpoolDir: spoolDir, outboundAllowPrivate: true }),
      true,
    );
    edgeUrl = `http://127.0.0.1:${(edge.getHttpServer().address() as AddressInfo).port}`;
    const registryUrl = `http://127.0.0.1:${(registry.getHttpServer().address() as AddressInfo).port}`;
    const created = await fetch(`${registryUrl}/api/v1/servers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'echo', name: 'Echo', url: echo.url, authType: 'header', headers: { 'X-Upstream-Key': UPSTREAM_SECRET } }),
    });
    expect(created.status).toBe(201);
    const serverId = ((await created.json()) as { id: string }).id;
    const { principal } = await bus.request(RequestSubjects.identityAuthenticate, { token: ADMIN_TOKEN });
    sealForAdmin = (upstreamSessionId) =>
      edge.get(SealedSessions).seal({
        principalId: principal.id,
        target: { kind: 'server', id: serverId, slug: 'echo' },
        upstreamSessions: { [serverId]: upstreamSessionId },
        protocolVersion: '2025-06-18',
        urlElicitation: false,
      });
  });

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await echo?.close();
    await database?.drop();
    rmSync(spoolDir, { recursive: true, force: true });
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  /**
   * A session opened on the upstream directly, so the calls through the edge
   * are tool calls and nothing else (and the edge's caches stay cold); sealed
   * as the edge would have sealed it.
   */
  async function upstreamSession(): Promise<string> {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-upstream-key': UPSTREAM_SECRET };
    const init = await fetch(echo.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'trace', version: '1' } } }),
    });
    const session = init.headers.get('mcp-session-id')!;
    await init.text();
    await (await fetch(echo.url, { method: 'POST', headers: { ...headers, 'mcp-session-id': session }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
    return sealForAdmin(session);
  }

  async function toolCall(session: string, id: number): Promise<ReadableSpan[]> {
    exporter.reset();
    const response = await fetch(`${edgeUrl}/mcp/echo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session },
      body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { message: 'traced' } } }),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('traced');
    // The root span ends after the response, and the audit writer stores the event after that; give them a moment.
    const done = () => ['mcp POST', 'audit.tool.call consume'].every((name) => exporter.getFinishedSpans().some((s) => s.name === name));
    for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    const root = exporter.getFinishedSpans().find((s) => s.name === 'mcp POST')!;
    expect(root).toBeDefined();
    return exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === root.spanContext().traceId);
  }

  const parentOf = (span: ReadableSpan, spans: ReadableSpan[]) => spans.find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId);
  const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

  it('makes a cold call one trace: edge → identity, registry (resolve, authorize), token-vault over the bus, and the upstream call as a child', async () => {
    const spans = await toolCall(await upstreamSession(), 1);
    const root = named(spans, 'mcp POST')[0];
    expect(root.parentSpanContext).toBeUndefined();
    expect(root.attributes).toMatchObject({
      'portcullis.server': 'echo',
      'mcp.tool.name': 'echo',
      'portcullis.credential.kind': 'header',
      'portcullis.outcome': 'success',
    });
    expect(typeof root.attributes['portcullis.principal.id']).toBe('string');

    for (const subject of ['identity.authenticate', 'registry.resolve', 'registry.authorize', 'vault.credential.resolve']) {
      const [request] = named(spans, `${subject} request`);
      expect(request).toBeDefined();
      expect(parentOf(request, spans)).toBe(root);
      // The answering service continues the same trace, under the request.
      const [handled] = named(spans, `${subject} handle`);
      expect(handled).toBeDefined();
      expect(parentOf(handled, spans)).toBe(request);
    }
    const [upstream] = named(spans, 'upstream POST');
    expect(parentOf(upstream, spans)).toBe(root);
    expect(upstream.attributes).toMatchObject({ 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'http.response.status_code': 200 });

    // The audit event is published in the request's trace, and stored by the audit service under it.
    const [published] = named(spans, 'audit.tool.call publish');
    expect(parentOf(published, spans)).toBe(root);
    expect(parentOf(named(spans, 'audit.tool.call consume')[0], spans)).toBe(published);

    // The upstream saw this trace, continued from the upstream span.
    const traceparent = echo.requests[echo.requests.length - 1]['traceparent'];
    expect(traceparent).toBe(`00-${root.spanContext().traceId}-${upstream.spanContext().spanId}-01`);
  });

  it('makes a warm call a trace of the edge, the upstream and the audit event only: no bus round trip', async () => {
    const session = await upstreamSession();
    await toolCall(session, 2);
    const spans = await toolCall(session, 3);
    expect(spans.map((s) => s.name).sort()).toEqual(['audit.tool.call consume', 'audit.tool.call publish', 'mcp POST', 'upstream POST']);
    expect(parentOf(named(spans, 'upstream POST')[0], spans)?.name).toBe('mcp POST');
  });

  it('never puts a token or a header value in a span', async () => {
    const spans = await toolCall(await upstreamSession(), 4);
    const text = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })));
    expect(text).not.toContain(ADMIN_TOKEN);
    expect(text).not.toContain(UPSTREAM_SECRET);
  });
});
