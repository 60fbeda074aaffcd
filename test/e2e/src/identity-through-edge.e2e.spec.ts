import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { AuditModule } from '@portcullis/audit';
import { Bus, InProcessBus, NatsBus } from '@portcullis/bus';
import { Keyring } from '@portcullis/crypto';
import { EdgeProxyModule } from '@portcullis/edge-proxy';
import { IdentityModule } from '@portcullis/identity';
import { RegistryModule } from '@portcullis/registry';
import { createLogger } from '@portcullis/telemetry';
import {
  createTestDatabase,
  EchoMcpServer,
  generateVaultKeys,
  startEchoMcpServer,
  startOidcProvider,
  TestDatabase,
  TestOidcProvider,
  uniqueSubjectPrefix,
} from '@portcullis/testing';
import { TokenVaultModule } from '@portcullis/token-vault';
import { adminRequest, initializeRequest, listeningUrl, MCP_HEADERS, moduleStarter } from './e2e-helpers';

const ADMIN_TOKEN = `bootstrap-admin-${randomBytes(24).toString('base64url')}`;
const AUDIENCE = 'https://gateway.identity-e2e.example';
const INITIALIZE = initializeRequest('identity-e2e');

/** The five real service modules on one bus (in-process or real NATS), real PostgreSQL, the edge on a loopback port. */
async function startGateway(bus: Bus, databaseUrl: string) {
  const logger = createLogger({ service: 'identity-e2e', level: 'silent' });
  const runtime = { bus, closeBusOnShutdown: false, logger, databaseUrl };
  const apps: INestApplication[] = [];
  const create = moduleStarter(apps);
  await create(IdentityModule.register({ ...runtime, bootstrapAdminToken: ADMIN_TOKEN }), false);
  await create(TokenVaultModule.register({ ...runtime, keyring: Keyring.parse(generateVaultKeys()) }), false);
  const audit = await create(AuditModule.register(runtime), true);
  const registry = await create(RegistryModule.register({ ...runtime, outboundAllowPrivate: true }), true);
  const edge = await create(
    EdgeProxyModule.register({ ...runtime, publicUrl: 'https://gateway.identity-e2e.example', maxRequestBytes: 64 * 1024, auditSpoolDir: mkdtempSync(join(tmpdir(), 'identity-e2e-spool-')), outboundAllowPrivate: true }),
    true,
  );
  const url = listeningUrl;
  return {
    edgeUrl: url(edge),
    registryUrl: url(registry),
    auditUrl: url(audit),
    close: async () => {
      for (const app of apps.reverse()) await app.close();
    },
  };
}

describe.each([
  ['in-process bus', async () => new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() }) as Bus],
  ['real NATS', async () => (await NatsBus.connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', name: 'identity-e2e', subjectPrefix: uniqueSubjectPrefix() })) as Bus],
])('identity through a real edge (%s, five real service modules, a real IdP, a real upstream)', (_transport, openBus) => {
  let database: TestDatabase;
  let idp: TestOidcProvider;
  let upstream: EchoMcpServer;
  let bus: Bus;
  let gateway: Awaited<ReturnType<typeof startGateway>>;

  const admin = (method: string, path: string, body?: unknown) => adminRequest(gateway.registryUrl, ADMIN_TOKEN, method, path, body);
  const initialize = async (token: string) =>
    (await fetch(`${gateway.edgeUrl}/mcp/echo`, { method: 'POST', headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` }, body: INITIALIZE })).status;

  /** Time from the admin API's answer until the edge refuses the token (polled back to back). */
  async function refusalLatencyMs(token: string, revoke: () => Promise<void>): Promise<number> {
    expect(await initialize(token)).toBe(200); // warm: the principal is now cached at the edge
    await revoke();
    const answeredAt = performance.now();
    for (;;) {
      const status = await initialize(token);
      if (status === 401) return performance.now() - answeredAt;
      expect(status).toBe(200);
      if (performance.now() - answeredAt > 5000) throw new Error('the edge still accepts the token 5 s after revocation');
    }
  }

  beforeAll(async () => {
    [database, idp, upstream, bus] = await Promise.all([createTestDatabase('identity-e2e'), startOidcProvider({ audience: AUDIENCE }), startEchoMcpServer(), openBus()]);
    gateway = await startGateway(bus, database.url);
    expect((await admin('POST', '/api/v1/identity-providers', { name: 'acme', issuer: idp.issuer, discoveryUrl: idp.discoveryUrl, audiences: [AUDIENCE], groupsClaim: 'groups' })).status).toBe(201);
    expect((await admin('POST', '/api/v1/servers', { slug: 'echo', name: 'Echo', url: upstream.url, authType: 'none' })).status).toBe(201);
    // Only team `dev` and one virtual account may use it: an IdP user gets in only through the groups claim.
    expect((await admin('POST', '/api/v1/servers/echo/collaborators', { subject: 'team:dev', role: 'user' })).status).toBe(201);
    expect((await admin('POST', '/api/v1/servers/echo/collaborators', { subject: 'virtualaccount:ci-bot', role: 'user' })).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await bus?.close();
    await Promise.allSettled([upstream?.close(), idp?.stop()]);
    await database?.drop();
  });

  it("lets an IdP user reach the MCP server through the edge as the right user, with teams from the groups claim, and audits that principal", async () => {
    const token = await idp.mintAccessToken({ sub: 'alice-sub', claims: { email: 'Alice@Acme.example', groups: ['dev'] } });
    const outsider = await idp.mintAccessToken({ sub: 'bob-sub', claims: { email: 'bob@acme.example', groups: ['ops'] } });
    expect(await initialize(token)).toBe(200);
    expect(await initialize(outsider)).toBe(403);

    const users = (await admin('GET', '/api/v1/users?email=alice@acme.example')).body.items;
    expect(users).toEqual([expect.objectContaining({ email: 'alice@acme.example', teams: ['dev'], identities: [{ identityProvider: 'acme', subject: 'alice-sub' }] })]);
    const principalId = `user:${users[0].id}`;
    const deadline = Date.now() + 10_000;
    let rows: { principal: { id: string; kind: string; email?: string } | null; outcome: string }[] = [];
    while (Date.now() < deadline) {
      const response = await fetch(`${gateway.auditUrl}/api/v1/audit/events?principal=${encodeURIComponent(principalId)}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      rows = ((await response.json()) as { items: typeof rows }).items;
      if (rows.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(rows[0]).toMatchObject({ principal: { id: principalId, kind: 'user', email: 'alice@acme.example' }, outcome: 'success' });
  });

  it('refuses a revoked API key at a warm edge on the next call (latency measured)', async () => {
    const created = await admin('POST', '/api/v1/api-keys', { name: 'agent', ownerEmail: 'dev1@acme.example' });
    await admin('POST', '/api/v1/teams', { name: 'dev' });
    expect((await admin('POST', '/api/v1/teams/dev/members', { email: 'dev1@acme.example' })).status).toBe(200);
    const latency = await refusalLatencyMs(created.body.token, async () => {
      expect((await admin('DELETE', `/api/v1/api-keys/${created.body.apiKey.id}`)).status).toBe(200);
    });
    process.stdout.write(`[identity-e2e ${_transport}] revoked API key refused by the edge ${latency.toFixed(1)} ms after the revoke API answered\n`);
    expect(latency).toBeLessThan(1000);
  });

  it("refuses a deactivated user's key and IdP token at a warm edge (latency measured)", async () => {
    const idpToken = await idp.mintAccessToken({ sub: 'carol-sub', claims: { email: 'carol@acme.example', groups: ['dev'] } });
    expect(await initialize(idpToken)).toBe(200);
    const userId = (await admin('GET', '/api/v1/users?email=carol@acme.example')).body.items[0].id;
    const key = await admin('POST', '/api/v1/api-keys', { name: 'carol laptop', ownerEmail: 'carol@acme.example' });
    const latency = await refusalLatencyMs(key.body.token, async () => {
      expect((await admin('POST', `/api/v1/users/${userId}/deactivate`)).status).toBe(200);
    });
    process.stdout.write(`[identity-e2e ${_transport}] deactivated user's key refused by the edge ${latency.toFixed(1)} ms after the API answered\n`);
    expect(latency).toBeLessThan(1000);
    expect(await initialize(idpToken)).toBe(401);
  });

  it('lets a virtual account in with its token, keeps the old token during a rotation grace period, and refuses a revoked one', async () => {
    expect((await admin('POST', '/api/v1/virtual-accounts', { name: 'ci-bot' })).status).toBe(201);
    const issued = (await admin('POST', '/api/v1/virtual-accounts/ci-bot/tokens', {})).body;
    expect(await initialize(issued.token)).toBe(200);
    const rotated = (await admin('POST', `/api/v1/virtual-accounts/ci-bot/tokens/${issued.virtualAccountToken.id}/rotate`, { graceSeconds: 300 })).body;
    expect(await initialize(issued.token)).toBe(200);
    expect(await initialize(rotated.token)).toBe(200);
    const latency = await refusalLatencyMs(rotated.token, async () => {
      expect((await admin('DELETE', `/api/v1/virtual-accounts/ci-bot/tokens/${rotated.virtualAccountToken.id}`)).status).toBe(200);
    });
    process.stdout.write(`[identity-e2e ${_transport}] revoked virtual-account token refused by the edge ${latency.toFixed(1)} ms after the API answered\n`);
    expect(latency).toBeLessThan(1000);
  });
});
