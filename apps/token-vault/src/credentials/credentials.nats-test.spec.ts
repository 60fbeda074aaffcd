import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { BusError, NatsBus } from '@portcullis/bus';
import { EventSubjects, RequestSubjects } from '@portcullis/contracts';
import { Keyring } from '@portcullis/crypto';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, TestDatabase, uniqueSubjectPrefix, deleteJetStreamStreams } from '@portcullis/testing';
import { TokenVaultModule } from '../token-vault.module';
import { CredentialsHandler } from './credentials.handler';

jest.setTimeout(60_000);

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

describe(`${CredentialsHandler.name} over NATS`, () => {
  let database: TestDatabase;
  let caller: NatsBus;
  let app: NestFastifyApplication;
  const auditStreams: string[] = [];

  beforeAll(async () => {
    const subjectPrefix = uniqueSubjectPrefix();
    database = await createTestDatabase('vault_nats');
    const bus = await NatsBus.connect({ servers: NATS_URL, name: 'token-vault-spec', subjectPrefix });
    // Registry and edge are other processes: one more connection stands in for both.
    caller = await NatsBus.connect({ servers: NATS_URL, name: 'caller-spec', subjectPrefix });
    auditStreams.push(bus.auditStream);
    app = await NestFactory.create<NestFastifyApplication>(
      TokenVaultModule.register({
        bus,
        closeBusOnShutdown: true,
        logger: createLogger({ service: 'token-vault', level: 'silent' }),
        databaseUrl: database.url,
        keyring: Keyring.generate('k1'),
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
    await database?.drop();
  });

  it('stores, announces and resolves a header set for callers in other processes', async () => {
    const serverId = randomUUID();
    const heard = new Promise((resolve) => {
      const subscription = caller.on(EventSubjects.vaultChanged, (event) => {
        if (event.serverId === serverId) void subscription.unsubscribe().then(() => resolve(event));
      });
    });
    await expect(caller.request(RequestSubjects.vaultAdminServerHeadersPut, { serverId, headers: { 'X-Api-Key': 'sk-over-nats' }, mode: 'global' })).resolves.toEqual({
      headerNames: ['X-Api-Key'],
    });
    await expect(heard).resolves.toEqual({ serverId, principalId: null });
    const principal = { id: 'user-1', kind: 'user' as const, sub: 'u1', teams: [], isAdmin: false };
    const resolved = await caller.request(RequestSubjects.vaultCredentialResolve, { principal, server: serverOf(serverId, 'remote') });
    expect(resolved).toMatchObject({ status: 'ready', headers: { 'X-Api-Key': 'sk-over-nats' } });

    const missing = await caller
      .request(RequestSubjects.vaultCredentialResolve, { principal, server: serverOf(randomUUID(), 'nowhere') })
      .catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(BusError);
    expect((missing as BusError).code).toBe('NOT_FOUND');
  });

  it('takes a user’s own values for a per-user template and serves them to that user only', async () => {
    const server = serverOf(randomUUID(), 'per-user-remote');
    const alice = { id: 'user-alice', kind: 'user' as const, sub: 'alice', teams: [], isAdmin: false };
    const bob = { id: 'user-bob', kind: 'user' as const, sub: 'bob', teams: [], isAdmin: false };
    await caller.request(RequestSubjects.vaultAdminServerHeadersPut, { serverId: server.id, headers: { Authorization: 'Bearer {{API_KEY}}' }, mode: 'per_user' });
    await expect(caller.request(RequestSubjects.vaultUserCredentialPut, { principal: alice, server, values: { API_KEY: 'alice-over-nats' } })).resolves.toEqual({
      variables: ['API_KEY'],
    });
    await expect(caller.request(RequestSubjects.vaultCredentialResolve, { principal: alice, server })).resolves.toMatchObject({
      status: 'ready',
      headers: { Authorization: 'Bearer alice-over-nats' },
    });
    await expect(caller.request(RequestSubjects.vaultCredentialResolve, { principal: bob, server })).resolves.toEqual({
      status: 'value_required',
      credentialKind: 'header',
      variables: ['API_KEY'],
    });
    await expect(caller.request(RequestSubjects.vaultUserCredentialDelete, { principalId: alice.id, serverId: server.id })).resolves.toEqual({ deleted: 1 });
  });
});

function serverOf(id: string, slug: string) {
  return { id, slug, authType: 'header' as const, url: `https://${slug}.example.com/mcp` };
}
