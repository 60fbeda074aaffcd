import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { INestApplication } from '@nestjs/common';
import { AuditModule } from '@portcullis/audit';
import { Bus, InProcessBus } from '@portcullis/bus';
import { Keyring } from '@portcullis/crypto';
import { EdgeProxyModule } from '@portcullis/edge-proxy';
import { IdentityModule } from '@portcullis/identity';
import { RegistryModule } from '@portcullis/registry';
import { createLogger } from '@portcullis/telemetry';
import {
  createTestDatabase,
  followAuthorization,
  freePort,
  generateVaultKeys,
  ProtectedMcpServer,
  startOidcProvider,
  startProtectedMcpServer,
  TestDatabase,
  TestOidcProvider,
  uniqueSubjectPrefix,
  upstreamOAuthSettings,
} from '@portcullis/testing';
import { TokenVaultModule } from '@portcullis/token-vault';
import { adminRequest, listeningUrl, MCP_HEADERS, moduleStarter } from './e2e-helpers';

const ADMIN_TOKEN = `bootstrap-admin-${randomBytes(24).toString('base64url')}`;
const PLEASE_VISIT = /Please visit: (\S+)$/;

/**
 * Per-user upstream OAuth end to end (DESIGN §5, §6): every service as a real
 * module on one in-process bus over real PostgreSQL; a real oidc-provider as
 * the upstream authorization server; an upstream MCP server protected by the
 * SDK's bearer-auth middleware checking that provider's tokens and audience;
 * the SDK's own client as the agent; the consent URL followed as a browser would.
 */
describe('per-user upstream OAuth through a real edge', () => {
  let database: TestDatabase;
  let idp: TestOidcProvider;
  let upstream: ProtectedMcpServer;
  let bus: Bus;
  const apps: INestApplication[] = [];
  let publicUrl: string;
  let registryUrl: string;
  let auditUrl: string;
  const keys: Record<'alice' | 'bob', string> = { alice: '', bob: '' };

  const admin = (method: string, path: string, body?: unknown) => adminRequest(registryUrl, ADMIN_TOKEN, method, path, body);

  async function connect(who: 'alice' | 'bob', urlElicitation = true): Promise<Client> {
    const client = new Client({ name: `${who}-agent`, version: '1.0.0' }, { capabilities: urlElicitation ? { elicitation: { url: {} } } : {} });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${publicUrl}/mcp/github`), { requestInit: { headers: { authorization: `Bearer ${keys[who]}` } } }));
    return client;
  }

  async function consentError(who: 'alice' | 'bob', urlElicitation = true): Promise<McpError> {
    const error = await connect(who, urlElicitation).then(
      async (client) => {
        await client.close();
        throw new Error(`${who} connected without consent`);
      },
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(McpError);
    return error as McpError;
  }

  /** The browser's part: the gateway's connect page, the provider's login and consent, back to the gateway's callback. */
  async function consentInBrowser(connectUrl: string, upstreamSubject: string): Promise<{ callbackUrl: string; page: Response }> {
    await idp.setNextLogin({ sub: upstreamSubject });
    const connect = await fetch(connectUrl, { redirect: 'manual' });
    expect(connect.status).toBe(302);
    const providerUrl = connect.headers.get('location')!;
    expect(providerUrl.startsWith(`${idp.issuer}/`)).toBe(true);
    const callbackUrl = (await followAuthorization(providerUrl, `${publicUrl}/oauth/callback`)).toString();
    return { callbackUrl, page: await fetch(callbackUrl) };
  }

  beforeAll(async () => {
    const edgePort = await freePort();
    publicUrl = `http://127.0.0.1:${edgePort}`;
    [database, upstream] = await Promise.all([createTestDatabase('upstream-oauth-e2e'), startProtectedMcpServer('github-like')]);
    idp = await startOidcProvider({ audience: `${publicUrl}/mcp`, upstream: { redirectUri: `${publicUrl}/oauth/callback`, resource: upstream.url } });
    upstream.trust({ issuer: idp.issuer, jwksUri: idp.jwksUri });
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    const runtime = { bus, closeBusOnShutdown: false, logger: createLogger({ service: 'upstream-oauth-e2e', level: 'silent' }), databaseUrl: database.url };
    const create = moduleStarter(apps);
    await create(IdentityModule.register({ ...runtime, bootstrapAdminToken: ADMIN_TOKEN, keyring: Keyring.parse(generateVaultKeys()), publicUrl }), false);
    await create(TokenVaultModule.register({ ...runtime, keyring: Keyring.parse(generateVaultKeys()), publicUrl, outboundAllowPrivate: true }), false);
    auditUrl = listeningUrl(await create(AuditModule.register(runtime), true));
    registryUrl = listeningUrl(await create(RegistryModule.register({ ...runtime, outboundAllowPrivate: true }), true));
    await create(EdgeProxyModule.register({ ...runtime, publicUrl, maxRequestBytes: 64 * 1024, auditSpoolDir: mkdtempSync(join(tmpdir(), 'upstream-oauth-e2e-spool-')), outboundAllowPrivate: true }), edgePort);

    const oauth = upstreamOAuthSettings(idp);
    expect((await admin('POST', '/api/v1/servers', { slug: 'github', name: 'GitHub-like', url: upstream.url, authType: 'oauth2', oauth })).status).toBe(201);
    for (const who of ['alice', 'bob'] as const) {
      const key = await admin('POST', '/api/v1/api-keys', { name: `${who} laptop`, ownerEmail: `${who}@acme.example` });
      expect(key.status).toBe(201);
      keys[who] = key.body.token;
      expect((await admin('POST', '/api/v1/servers/github/collaborators', { subject: `user:${who}@acme.example`, role: 'user' })).status).toBe(201);
    }
  }, 90_000);

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await bus?.close();
    await Promise.allSettled([upstream?.close(), idp?.stop()]);
    await database?.drop();
  });

  it('asks for consent with a URL elicitation (-32042) at initialize, pointing at the gateway, never at the provider', async () => {
    const error = await consentError('alice');
    expect(error.code).toBe(-32042);
    const { elicitations } = error.data as { elicitations: { mode: string; elicitationId: string; url: string; message: string }[] };
    expect(elicitations).toHaveLength(1);
    expect(elicitations[0]).toMatchObject({ mode: 'url', elicitationId: expect.any(String), message: expect.any(String) });
    expect(elicitations[0]!.url).toMatch(new RegExp(`^${publicUrl}/connect/[^/]+$`));
    expect(error.message).toMatch(PLEASE_VISIT);
    expect(error.message.match(PLEASE_VISIT)![1]).toBe(elicitations[0]!.url);
    expect(upstream.accepted).toHaveLength(0);
  });

  it('answers -32001 with the URL in the message to a client that did not declare URL elicitation', async () => {
    const error = await consentError('alice', false);
    expect(error.code).toBe(-32001);
    expect(typeof error.data).toBe('string');
    expect(error.message).toMatch(new RegExp(`Please visit: ${publicUrl}/connect/\\S+$`));
  });

  it("lets the agent's retry succeed with the user's own token once they consented in the browser", async () => {
    const error = await consentError('alice');
    const connectUrl = error.message.match(PLEASE_VISIT)![1]!;
    const { callbackUrl, page } = await consentInBrowser(connectUrl, 'alice-at-github');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('github');

    const client = await connect('alice');
    const result = await client.callTool({ name: 'echo', arguments: { message: 'hello upstream' } });
    expect(result.content).toEqual([{ type: 'text', text: 'hello upstream' }]);
    await client.close();
    expect(upstream.accepted.at(-1)).toMatchObject({ sub: 'alice-at-github', clientId: idp.upstreamClient!.clientId });

    // The provider's redirect is single-use: replaying it changes nothing and is refused.
    const replay = await fetch(callbackUrl);
    expect(replay.status).toBe(400);
  });

  it("gives a second user their own consent error, never the first user's token", async () => {
    const seen = upstream.accepted.length;
    const error = await consentError('bob');
    expect(error.code).toBe(-32042);
    expect(upstream.accepted).toHaveLength(seen);
    const { elicitations } = error.data as { elicitations: { url: string }[] };
    const { page } = await consentInBrowser(elicitations[0]!.url, 'bob-at-github');
    expect(page.status).toBe(200);
    const client = await connect('bob');
    await client.callTool({ name: 'echo', arguments: { message: 'bob' } });
    await client.close();
    expect(upstream.accepted.at(-1)).toMatchObject({ sub: 'bob-at-github' });
  });

  it('refuses a forged state at the callback', async () => {
    const forged = await fetch(`${publicUrl}/oauth/callback?code=stolen&state=${randomBytes(32).toString('base64url')}`);
    expect(forged.status).toBe(400);
    expect(await forged.text()).not.toContain('stolen');
  });

  it('lists and deletes the caller\'s own connection, revoking it at the provider; the next call asks for consent again', async () => {
    const mine = await fetch(`${publicUrl}/me/connections`, { headers: { authorization: `Bearer ${keys.alice}` } });
    expect(mine.status).toBe(200);
    const listed = (await mine.json()) as { items: { slug?: string; serverId: string; status: string }[] };
    expect(listed.items).toHaveLength(1);
    expect(listed.items[0]).toMatchObject({ status: 'active' });
    expect(JSON.stringify(listed)).not.toMatch(/eyJ/);

    const status = await fetch(`${publicUrl}/me/connections/github/authorize`, { headers: { authorization: `Bearer ${keys.alice}` } });
    expect(await status.json()).toMatchObject({ status: 'authenticated', url: null });

    const revocationsBefore = (await idp.tokenStats()).revocations;
    const deleted = await fetch(`${publicUrl}/me/connections/github`, { method: 'DELETE', headers: { authorization: `Bearer ${keys.alice}` } });
    expect(deleted.status).toBeLessThan(300);
    expect((await idp.tokenStats()).revocations).toBeGreaterThan(revocationsBefore);
    expect((await consentError('alice')).code).toBe(-32042);
    // Bob's connection is his own and stays.
    const client = await connect('bob');
    await client.close();
  });

  it('records the calls with credential kind oauth2 in the audit trail, and no token anywhere in it', async () => {
    const deadline = Date.now() + 10_000;
    let trail = '';
    let calls: { action: string; credentialKind: string | null; principal: { email?: string } | null }[] = [];
    while (Date.now() < deadline) {
      const response = await fetch(`${auditUrl}/api/v1/audit/export?format=ndjson`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      trail = await response.text();
      calls = trail.split('\n').filter(Boolean).map((line) => JSON.parse(line)).filter((event) => event.action === 'tool.call');
      if (calls.length >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(calls.map((event) => [event.principal?.email, event.credentialKind])).toEqual(expect.arrayContaining([['alice@acme.example', 'oauth2'], ['bob@acme.example', 'oauth2']]));
    expect(trail).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    expect(trail).not.toContain(idp.upstreamClient!.clientSecret);
  });

  it('answers a raw initialize that needs consent with the JSON-RPC error for its id', async () => {
    const response = await fetch(`${publicUrl}/mcp/github`, {
      method: 'POST',
      headers: { ...MCP_HEADERS, authorization: `Bearer ${keys.alice}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    const body = (await response.json()) as { id: number; error: { code: number; message: string } };
    expect(body).toMatchObject({ id: 7, error: { code: -32001 } });
    expect(body.error.message).toMatch(PLEASE_VISIT);
  });
});
