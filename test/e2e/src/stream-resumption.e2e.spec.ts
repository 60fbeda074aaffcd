import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { AuditModule } from '@portcullis/audit';
import { Bus, InProcessBus } from '@portcullis/bus';
import { Keyring } from '@portcullis/crypto';
import { EdgeProxyModule } from '@portcullis/edge-proxy';
import { IdentityModule } from '@portcullis/identity';
import { RegistryModule } from '@portcullis/registry';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, generateVaultKeys, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { TokenVaultModule } from '@portcullis/token-vault';
import { adminRequest, listeningUrl, moduleStarter } from './e2e-helpers';
import { ResumableMcpServer, startResumableMcpServer } from './resumable-mcp-server';

const ADMIN_TOKEN = `bootstrap-admin-${randomBytes(24).toString('base64url')}`;

interface RoutedRequest {
  method: string;
  origin: string;
  lastEventId: string | null;
}

/**
 * What the client's network does: every request goes to the first edge
 * replica, except reconnections (they carry `Last-Event-ID`), which a load
 * balancer sends to the second. The answer `cut` picks loses its connection
 * after `afterEvents` SSE events, as a dropped TCP connection would.
 */
class FlakyNetwork {
  readonly requests: RoutedRequest[] = [];
  /** The ids of the events the client got before the cut. */
  readonly idsBeforeCut: string[] = [];
  cutDone = false;

  constructor(
    private readonly first: string,
    private readonly second: string,
    private readonly cut: { when: (method: string, body: string) => boolean; afterEvents: number },
  ) {}

  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    const method = init?.method ?? 'GET';
    const lastEventId = headers.get('last-event-id');
    const url = new URL(String(input instanceof Request ? input.url : input));
    const origin = lastEventId === null ? this.first : this.second;
    this.requests.push({ method, origin, lastEventId });
    const response = await fetch(`${origin}${url.pathname}${url.search}`, init);
    const body = typeof init?.body === 'string' ? init.body : '';
    if (this.cutDone || !response.body || !this.cut.when(method, body) || !response.headers.get('content-type')?.startsWith('text/event-stream')) return response;
    this.cutDone = true;
    return new Response(this.cutAfter(response.body), { status: response.status, headers: response.headers });
  };

  /** Passes whole chunks through until `afterEvents` events went by, then fails the stream like a lost connection. */
  private cutAfter(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    let broken = false;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (broken) {
          await reader.cancel().catch(() => undefined);
          controller.error(new TypeError('network connection lost'));
          return;
        }
        const { value, done } = await reader.read();
        if (done) return controller.close();
        controller.enqueue(value);
        text += decoder.decode(value, { stream: true });
        const events = text.split('\n\n').slice(0, -1);
        if (events.length >= this.cut.afterEvents) {
          broken = true;
          for (const event of events) {
            const id = /^id: ?(.*)$/m.exec(event)?.[1];
            if (id) this.idsBeforeCut.push(id);
          }
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
  }
}

/**
 * Last-Event-ID resumption end to end (MCP streamable HTTP, resumability):
 * an upstream with an event store, two edge replicas sharing SESSION_KEYS on
 * one bus, the SDK client. A stream cut mid-way at one replica is resumed
 * through the other, and no event is lost or repeated.
 */
describe('stream resumption through two edge replicas', () => {
  let database: TestDatabase;
  let upstream: ResumableMcpServer;
  let bus: Bus;
  const apps: INestApplication[] = [];
  let firstEdge: string;
  let secondEdge: string;
  let registryUrl: string;
  let apiKey: string;
  const opened: Client[] = [];

  const admin = (method: string, path: string, body?: unknown) => adminRequest(registryUrl, ADMIN_TOKEN, method, path, body);

  async function connect(network: FlakyNetwork): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(new URL(`${firstEdge}/mcp/counter`), {
      fetch: network.fetch,
      requestInit: { headers: { Authorization: `Bearer ${apiKey}` } },
      reconnectionOptions: { initialReconnectionDelay: 50, maxReconnectionDelay: 200, reconnectionDelayGrowFactor: 1, maxRetries: 3 },
    });
    const client = new Client({ name: 'resumption-e2e', version: '1.0.0' });
    opened.push(client);
    await client.connect(transport);
    return client;
  }

  beforeAll(async () => {
    [database, upstream] = await Promise.all([createTestDatabase('resumption-e2e'), startResumableMcpServer()]);
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    const runtime = { bus, closeBusOnShutdown: false, logger: createLogger({ service: 'resumption-e2e', level: 'silent' }), databaseUrl: database.url };
    const create = moduleStarter(apps);
    await create(IdentityModule.register({ ...runtime, bootstrapAdminToken: ADMIN_TOKEN }), false);
    await create(TokenVaultModule.register({ ...runtime, keyring: Keyring.parse(generateVaultKeys()) }), false);
    await create(AuditModule.register(runtime), true);
    registryUrl = listeningUrl(await create(RegistryModule.register({ ...runtime, outboundAllowPrivate: true }), true));
    // Two replicas behind one public URL, holding the same session keys (DESIGN §7).
    const sessionKeys = Keyring.generate('s1');
    const edge = () =>
      EdgeProxyModule.register({
        ...runtime,
        publicUrl: 'https://gateway.resumption-e2e.example',
        maxRequestBytes: 64 * 1024,
        auditSpoolDir: mkdtempSync(join(tmpdir(), 'resumption-e2e-spool-')),
        outboundAllowPrivate: true,
        sessionKeys,
      });
    firstEdge = listeningUrl(await create(edge(), true));
    secondEdge = listeningUrl(await create(edge(), true));
    expect((await admin('POST', '/api/v1/servers', { slug: 'counter', name: 'Counter', url: upstream.url, authType: 'none' })).status).toBe(201);
    expect((await admin('POST', '/api/v1/servers/counter/collaborators', { subject: 'team:everyone', role: 'user' })).status).toBe(201);
    apiKey = (await admin('POST', '/api/v1/api-keys', { name: 'agent', ownerEmail: 'dev@acme.example', isAdmin: false, expiresAt: null })).body.token;
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(opened.map((client) => client.close()));
    for (const app of apps.reverse()) await app.close();
    await bus?.close();
    await upstream?.close();
    await database?.drop();
  });

  it("resumes a tool call's SSE answer cut mid-stream at one replica through the other, with every event once", async () => {
    // The priming event and three progress notifications get through, then the connection drops.
    const network = new FlakyNetwork(firstEdge, secondEdge, { when: (method, body) => method === 'POST' && body.includes('"countdown"'), afterEvents: 4 });
    const client = await connect(network);
    const progress: number[] = [];
    const tokens: string[] = [];
    const result = await client.callTool({ name: 'countdown', arguments: { count: 10, intervalMs: 100 } }, undefined, {
      onprogress: ({ progress: step }) => void progress.push(step),
      onresumptiontoken: (token) => void tokens.push(token),
    });

    expect(network.cutDone).toBe(true);
    expect(result.content).toEqual([{ type: 'text', text: 'done 10' }]);
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // The client reconnected with the id of the last event it had, through the second replica...
    const lastBeforeCut = network.idsBeforeCut.at(-1)!;
    expect(network.requests.filter((request) => request.lastEventId !== null)).toEqual([{ method: 'GET', origin: secondEdge, lastEventId: lastBeforeCut }]);
    // ...which forwarded it to the upstream unchanged, in the upstream's own session.
    const resumed = upstream.requests.filter((request) => request['last-event-id'] !== undefined);
    expect(resumed).toEqual([expect.objectContaining({ ':method': 'GET', 'last-event-id': lastBeforeCut, 'mcp-session-id': expect.any(String) })]);
    expect(tokens.slice(0, network.idsBeforeCut.length)).toEqual(network.idsBeforeCut);
  });

  it('resumes the standalone GET event stream cut mid-stream at one replica through the other, with every event once', async () => {
    const network = new FlakyNetwork(firstEdge, secondEdge, { when: (method) => method === 'GET', afterEvents: 2 });
    const client = await connect(network);
    const ticks: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, async (notification) => void ticks.push(String(notification.params.data)));
    // The SDK opens the GET stream after initialize; give it time to be established at the upstream.
    const deadline = Date.now() + 5000;
    while (!upstream.requests.some((request) => request[':method'] === 'GET') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await upstream.broadcast(6, 100);
    while (ticks.length < 6 && Date.now() < deadline + 5000) await new Promise((resolve) => setTimeout(resolve, 20));

    expect(network.cutDone).toBe(true);
    expect(ticks).toEqual(['tick 1', 'tick 2', 'tick 3', 'tick 4', 'tick 5', 'tick 6']);
    const reconnects = network.requests.filter((request) => request.lastEventId !== null);
    expect(reconnects[0]).toEqual({ method: 'GET', origin: secondEdge, lastEventId: network.idsBeforeCut.at(-1) });
    expect(upstream.requests.filter((request) => request['last-event-id'] === network.idsBeforeCut.at(-1))).toHaveLength(1);
  });
});
