import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { NatsBus } from '@portcullis/bus';
import { RequestSubjects } from '@portcullis/contracts';
import { Keyring } from '@portcullis/crypto';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, followAuthorization, startOidcProvider, TestDatabase, TestOidcProvider, uniqueSubjectPrefix, deleteJetStreamStreams } from '@portcullis/testing';
import { OAuthHandler } from '../../src/oauth/oauth.handler';
import { TokenVaultModule } from '../../src/token-vault.module';
import { PUBLIC_URL, REDIRECT_URI, UPSTREAM_URL, user } from './oauth-harness';

jest.setTimeout(60_000);

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const alice = user('alice');

/** The OAuth subjects between processes: the edge and the registry are another NATS connection here. */
describe(`${OAuthHandler.name} over NATS`, () => {
  let database: TestDatabase;
  let provider: TestOidcProvider;
  let caller: NatsBus;
  let app: NestFastifyApplication;
  const auditStreams: string[] = [];

  beforeAll(async () => {
    const subjectPrefix = uniqueSubjectPrefix();
    database = await createTestDatabase('vault_oauth_nats');
    provider = await startOidcProvider({ audience: 'https://idp-audience.example', upstream: { redirectUri: REDIRECT_URI, resource: UPSTREAM_URL } });
    const bus = await NatsBus.connect({ servers: NATS_URL, name: 'token-vault-spec', subjectPrefix });
    caller = await NatsBus.connect({ servers: NATS_URL, name: 'caller-spec', subjectPrefix });
    auditStreams.push(bus.auditStream);
    app = await NestFactory.create<NestFastifyApplication>(
      TokenVaultModule.register({
        bus,
        closeBusOnShutdown: true,
        logger: createLogger({ service: 'token-vault', level: 'silent' }),
        databaseUrl: database.url,
        keyring: Keyring.generate('k1'),
        publicUrl: PUBLIC_URL,
        outboundAllowPrivate: true,
        oauth: { refreshIntervalMs: 0 },
      }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    await caller?.close();
    await deleteJetStreamStreams(NATS_URL, auditStreams);
    await provider?.stop();
    await database?.drop();
  });

  it('runs settings, consent, callback, resolve, status, list and delete for callers in other processes', async () => {
    const server = { id: '5b0c2a64-4c1e-4f8e-9a43-3f0f1e2d3c4b', slug: 'remote-oauth', authType: 'oauth2' as const, url: UPSTREAM_URL };
    const client = provider.upstreamClient!;
    const put = await caller.request(RequestSubjects.vaultAdminServerOAuthPut, {
      server,
      settings: { grantType: 'authorization_code', clientId: client.clientId, clientSecret: client.clientSecret, authorizationUrl: `${provider.issuer}/auth`, tokenUrl: `${provider.issuer}/token`, revocationUrl: `${provider.issuer}/token/revocation`, scopes: ['mcp'], tokenEndpointAuthMethod: 'client_secret_basic' },
    });
    expect(put.settings.hasClientSecret).toBe(true);
    expect(JSON.stringify(put)).not.toContain(client.clientSecret);

    const consent = await caller.request(RequestSubjects.vaultCredentialResolve, { principal: alice, server });
    if (consent.status !== 'consent_required') throw new Error(`expected consent_required, got ${consent.status}`);
    const { authorizationUrl } = await caller.request(RequestSubjects.vaultOAuthConnect, { flowId: consent.flowId, browserPrincipalId: alice.id });
    await provider.setNextLogin({ sub: 'alice' });
    const params = (await followAuthorization(authorizationUrl, REDIRECT_URI)).searchParams;
    await expect(
      caller.request(RequestSubjects.vaultOAuthCallback, { state: params.get('state')!, code: params.get('code')!, iss: params.get('iss')!, browserPrincipalId: alice.id }),
    ).resolves.toEqual({ serverId: server.id, serverSlug: server.slug, principalId: alice.id });

    const ready = await caller.request(RequestSubjects.vaultCredentialResolve, { principal: alice, server });
    expect(ready).toMatchObject({ status: 'ready', credentialKind: 'oauth2', headers: { Authorization: expect.stringMatching(/^Bearer eyJ/) } });
    await expect(caller.request(RequestSubjects.vaultConnectionStatus, { principal: alice, server })).resolves.toEqual({ status: 'authenticated', flowId: null });
    const { connections } = await caller.request(RequestSubjects.vaultConnectionList, { principalId: alice.id });
    expect(connections).toEqual([expect.objectContaining({ serverId: server.id, status: 'active' })]);
    await expect(caller.request(RequestSubjects.vaultConnectionDelete, { principalId: alice.id, serverId: server.id })).resolves.toEqual({ deleted: true, revokedAtProvider: true });
  });
});
