import { randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { AccessDecision, Principal, RequestSubjects, ServerTarget, ServiceQueues } from '@portcullis/contracts';
import { freePort, generateVaultKeys, ServiceProcess, sleep, uniqueSubjectPrefix, waitForReady } from '@portcullis/testing';
import { connect } from 'nats';
import { BusError } from './bus.errors';
import { NatsBus } from './nats.bus';

jest.setTimeout(90_000);

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const TOKEN = `pcl_drain_${randomUUID()}`;
const SLOW_TOOL_MS = 4000;
const READINESS_DELAY_MS = 1000;
const GRACE_MS = 15_000;

/**
 * SIGTERM on a real service process (`dist/apps/edge-proxy/main.js`, built with
 * `npx tsc -b tsconfig.build.json`): the tool call in flight completes, /readyz
 * turns 503 first, a new request after that is refused, and the process exits 0
 * within the grace period. Identity, registry and the vault are stand-ins
 * answering on real NATS; the upstream is a real MCP server whose tool is slow.
 */
describe('startServiceProcess on SIGTERM', () => {
  const prefix = uniqueSubjectPrefix();
  let services: NatsBus;
  let upstream: SlowUpstream;
  let spoolDir: string;
  let edge: ServiceProcess;
  let edgeUrl: string;

  beforeAll(async () => {
    upstream = await startSlowUpstream();
    services = await NatsBus.connect({ servers: NATS_URL, name: 'drain-spec-services', subjectPrefix: prefix });
    answerAsTheServices(services, upstream.url);
    spoolDir = await mkdtemp(join(tmpdir(), 'portcullis-drain-spool-'));
    const port = await freePort();
    edgeUrl = `http://127.0.0.1:${port}`;
    edge = ServiceProcess.start('edge-proxy', {
      NATS_URL,
      BUS_SUBJECT_PREFIX: prefix,
      EDGE_PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: edgeUrl,
      SESSION_KEYS: generateVaultKeys(),
      OUTBOUND_ALLOW_PRIVATE: 'true',
      AUDIT_SPOOL_DIR: spoolDir,
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      SHUTDOWN_DELAY_MS: String(READINESS_DELAY_MS),
      LOG_LEVEL: 'info',
    });
    await waitForReady(`${edgeUrl}/readyz`, edge);
  });

  let afterTest: () => Promise<void> = async () => undefined;
  afterEach(() => afterTest().catch(() => undefined));

  afterAll(async () => {
    await edge?.stop('SIGKILL');
    await services?.close();
    await upstream?.close();
    if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
    const nc = await connect({ servers: NATS_URL });
    await (await nc.jetstreamManager()).streams.delete(`AUDIT_${prefix}`).catch(() => undefined);
    await nc.close();
  });

  it('finishes the tool call in flight, refuses new work, and exits 0 within the grace period', async () => {
    const client = new Client({ name: 'drain-spec', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${edgeUrl}/mcp/slow`), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
    afterTest = () => client.close();
    const call = client.callTool({ name: 'slow', arguments: {} });
    await upstream.callStarted;

    const signalled = Date.now();
    const stopped = edge.stop('SIGTERM', GRACE_MS + 10_000);
    await sleep(300);
    // (a) Not ready while it still serves: the load balancer takes it out first.
    const readiness = await fetch(`${edgeUrl}/readyz`);
    expect(readiness.status).toBe(503);
    expect(((await readiness.json()) as { checks: Record<string, string> }).checks).toMatchObject({ shutdown: 'shutting down' });

    // (b) After the delay: no new request is taken, and the refusal is quick.
    await sleep(READINESS_DELAY_MS + 200 - (Date.now() - signalled));
    const refusedAt = Date.now();
    const late = await fetch(`${edgeUrl}/readyz`).then(
      (response) => response.status,
      (error: unknown) => (error as { cause?: { code?: string } }).cause?.code ?? 'failed',
    );
    expect(late).toBe('ECONNREFUSED');
    expect(Date.now() - refusedAt).toBeLessThan(1000);

    // (c) The call that was in flight completes.
    await expect(call).resolves.toMatchObject({ content: [{ type: 'text', text: 'slow done' }] });
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(SLOW_TOOL_MS - 1000);

    // (d, e) Then the process closes and exits 0, well within the grace period.
    await stopped;
    expect(await edge.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(GRACE_MS);
    const logs = edge.logs();
    for (const phase of ['shutdown: not ready', 'shutdown: taking no new connections', 'shutdown: HTTP drained', 'shutdown: bus drained', 'shutdown: closed, exiting']) {
      expect(logs).toContain(phase);
    }
    // The call finished; the MCP listening stream (a GET) was closed at once; nothing was cut.
    expect(logs).toMatch(/"finished":1,"streamsClosed":1,"cut":0,.*shutdown: HTTP drained/);
  });
});

interface SlowUpstream {
  url: string;
  /** Resolves when the `slow` tool has started. */
  callStarted: Promise<void>;
  close(): Promise<void>;
}

/** A real MCP server (stateless streamable HTTP) whose `slow` tool answers after {@link SLOW_TOOL_MS}. */
async function startSlowUpstream(): Promise<SlowUpstream> {
  let started = (): void => undefined;
  const callStarted = new Promise<void>((resolve) => (started = resolve));
  const server: Server = createServer((req, res) => {
    const mcp = new McpServer({ name: 'slow', version: '1.0.0' });
    mcp.registerTool('slow', { description: 'answers after a few seconds' }, async () => {
      started();
      await sleep(SLOW_TOOL_MS);
      return { content: [{ type: 'text', text: 'slow done' }] };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    void mcp
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    callStarted,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Identity, registry and the vault as the edge asks them, for one token and one server. */
function answerAsTheServices(bus: NatsBus, upstreamUrl: string): void {
  const principal: Principal = { id: randomUUID(), kind: 'user', sub: 'alice', email: 'alice@example.com', teams: [], isAdmin: false, credentialId: randomUUID() };
  const target: ServerTarget = { id: randomUUID(), slug: 'slow', name: 'slow', url: upstreamUrl, transport: 'streamable-http', authType: 'none', oauthGrantType: null, timeoutMs: 30_000 };
  const decision: AccessDecision = { allowed: true, role: 'user', reason: 'test', visibleTools: null, toolRules: [], hiddenTools: [], descriptions: {} };
  bus.reply(RequestSubjects.identityAuthenticate, ServiceQueues.identity, async ({ token }) => {
    if (token !== TOKEN) throw new BusError('UNAUTHENTICATED', 'unknown token');
    return { principal, expiresAt: null };
  });
  bus.reply(RequestSubjects.identityAuthorizationServers, ServiceQueues.identity, async () => ({ issuers: [] }));
  bus.reply(RequestSubjects.registryResolve, ServiceQueues.registry, async ({ slug }) => {
    if (slug !== target.slug) throw new BusError('NOT_FOUND', `no server ${slug}`);
    return { target };
  });
  bus.reply(RequestSubjects.registryAuthorize, ServiceQueues.registry, async () => decision);
  bus.reply(RequestSubjects.registryResolveVirtual, ServiceQueues.registry, async ({ slug }) => {
    throw new BusError('NOT_FOUND', `no virtual server ${slug}`);
  });
  bus.reply(RequestSubjects.vaultCredentialResolve, ServiceQueues.tokenVault, async () => ({ status: 'ready', credentialKind: 'none', credentialId: null, headers: {}, expiresAt: null }));
}
