import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { BusError, InProcessBus } from '@portcullis/bus';
import { EventSubjects, Principal, RequestSubjects } from '@portcullis/contracts';
import { DecryptionError, EnvelopeCipher, Keyring } from '@portcullis/crypto';
import { createLogger, PinoNestLogger } from '@portcullis/telemetry';
import { createTestDatabase, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { Client } from 'pg';
import { Clock } from '../clock';
import { TokenVaultModule } from '../token-vault.module';
import { credentialAssociatedData } from './credential-binding';
import { CredentialsService } from './credentials.service';

jest.setTimeout(60_000);

const NOW = new Date('2026-05-01T10:00:00.000Z');

class FrozenClock extends Clock {
  constructor(public current: Date) {
    super();
  }

  override now(): Date {
    return new Date(this.current);
  }
}

const alice: Principal = { id: 'user-alice', kind: 'user', sub: 'alice', email: 'alice@example.com', teams: [], isAdmin: false };
const bob: Principal = { id: 'user-bob', kind: 'user', sub: 'bob', email: 'bob@example.com', teams: [], isAdmin: false };

describe(CredentialsService.name, () => {
  let database: TestDatabase;
  let bus: InProcessBus;
  let app: NestFastifyApplication;
  let sql: Client;
  let keyring: Keyring;
  let clock: FrozenClock;
  const logLines: string[] = [];
  const vaultEvents: Array<{ serverId: string; principalId: string | null }> = [];

  const putHeaders = (serverId: string, headers: Record<string, string>) =>
    bus.request(RequestSubjects.vaultAdminServerHeadersPut, { serverId, headers });
  const resolve = (serverId: string, slug: string, principal: Principal = alice, authType: 'none' | 'header' = 'header') =>
    bus.request(RequestSubjects.vaultCredentialResolve, { principal, server: { id: serverId, slug, authType } });
  const rowsOf = async (serverId: string) =>
    (await sql.query('SELECT * FROM vault.credentials WHERE server_id = $1 ORDER BY lower(name)', [serverId])).rows;
  const busErrorOf = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected the request to fail');
      },
      (error: unknown) => error as BusError,
    );

  beforeAll(async () => {
    database = await createTestDatabase('vault_credentials');
    bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    bus.on(EventSubjects.vaultChanged, (event) => void vaultEvents.push(event));
    keyring = Keyring.generate('k1');
    clock = new FrozenClock(NOW);
    const logger = createLogger({ service: 'token-vault', level: 'trace', destination: { write: (line: string) => void logLines.push(line) } });
    app = await NestFactory.create<NestFastifyApplication>(
      TokenVaultModule.register({ bus, closeBusOnShutdown: true, logger, databaseUrl: database.url, keyring, clock }),
      new FastifyAdapter(),
      { logger: new PinoNestLogger(logger) },
    );
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    sql = new Client({ connectionString: database.url });
    await sql.connect();
  });

  afterAll(async () => {
    await sql?.end();
    await app?.close();
    await database?.drop();
  });

  describe('putServerHeaders', () => {
    it('stores the header set and resolve hands it back for the server', async () => {
      const serverId = randomUUID();
      await expect(putHeaders(serverId, { 'X-Api-Key': 'sk-live-alpha-0001', 'X-Tenant': 'acme' })).resolves.toEqual({
        headerNames: ['X-Api-Key', 'X-Tenant'],
      });
      const rows = await rowsOf(serverId);
      const resolved = await resolve(serverId, 'alpha');
      expect(resolved).toEqual({
        status: 'ready',
        credentialKind: 'header',
        credentialId: rows[0].id,
        headers: { 'X-Api-Key': 'sk-live-alpha-0001', 'X-Tenant': 'acme' },
        expiresAt: null,
      });
      // Another principal gets the same shared set.
      expect((await resolve(serverId, 'alpha', bob)).headers).toEqual(resolved.headers);
    });

    it('never stores a secret in clear', async () => {
      const serverId = randomUUID();
      const secret = 'sk-live-plaintext-check-42';
      await putHeaders(serverId, { Authorization: `Bearer ${secret}` });
      const [row] = await rowsOf(serverId);
      expect(row).toMatchObject({ server_id: serverId, principal_id: null, kind: 'header', name: 'Authorization', key_id: 'k1' });
      expect(row.sealed_value).toMatch(/^v1\.k1\./);
      expect(JSON.stringify(row)).not.toContain(secret);
      expect(JSON.stringify(row)).not.toContain(Buffer.from(secret).toString('base64'));
      expect(row.created_at).toEqual(NOW);
      expect(row.updated_at).toEqual(NOW);
    });

    it('replaces the whole set: names left out are deleted, names kept keep their row', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, { 'X-Old': 'old-value', 'X-Kept': 'first-value' });
      const [kept] = (await rowsOf(serverId)).filter((r) => r.name === 'X-Kept');
      clock.current = new Date(NOW.getTime() + 60_000);
      try {
        await expect(putHeaders(serverId, { 'x-kept': 'second-value', 'X-New': 'new-value' })).resolves.toEqual({ headerNames: ['x-kept', 'X-New'] });
      } finally {
        clock.current = NOW;
      }
      const rows = await rowsOf(serverId);
      expect(rows.map((r) => r.name)).toEqual(['x-kept', 'X-New']);
      const keptNow = rows.find((r) => r.name === 'x-kept');
      expect(keptNow).toMatchObject({ id: kept.id, created_at: NOW, updated_at: new Date(NOW.getTime() + 60_000) });
      expect((await resolve(serverId, 'replaced')).headers).toEqual({ 'x-kept': 'second-value', 'X-New': 'new-value' });
    });

    it('rejects a set naming one header twice in different case', async () => {
      const serverId = randomUUID();
      const error = await busErrorOf(putHeaders(serverId, { 'X-Api-Key': 'one-secret-value', 'x-api-key': 'two-secret-value' }));
      expect(error.code).toBe('INVALID_REQUEST');
      expect(error.message).not.toMatch(/one-secret-value|two-secret-value/);
      expect(await rowsOf(serverId)).toHaveLength(0);
    });

    it('rejects a header the gateway manages itself', async () => {
      const error = await busErrorOf(putHeaders(randomUUID(), { Host: 'evil.example.com' }));
      expect(error.code).toBe('INVALID_REQUEST');
    });

    it('announces the change on events.vault.changed', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, { 'X-Api-Key': 'sk-event-check' });
      await new Promise((r) => setImmediate(r));
      expect(vaultEvents).toContainEqual({ serverId, principalId: null });
    });
  });

  describe('deleteServerCredentials', () => {
    it('deletes every credential of the server, announces it, and leaves other servers alone', async () => {
      const serverId = randomUUID();
      const otherId = randomUUID();
      await putHeaders(serverId, { 'X-A': 'value-a', 'X-B': 'value-b' });
      await putHeaders(otherId, { 'X-A': 'value-other' });
      await new Promise((r) => setImmediate(r));
      vaultEvents.length = 0;
      await expect(bus.request(RequestSubjects.vaultAdminServerCredentialsDelete, { serverId })).resolves.toEqual({ deleted: 2 });
      await new Promise((r) => setImmediate(r));
      expect(vaultEvents).toEqual([{ serverId, principalId: null }]);
      expect(await rowsOf(serverId)).toHaveLength(0);
      expect((await busErrorOf(resolve(serverId, 'deleted-server'))).code).toBe('NOT_FOUND');
      expect((await resolve(otherId, 'other')).headers).toEqual({ 'X-A': 'value-other' });
    });
  });

  describe('resolve', () => {
    it('answers a server without auth with no headers', async () => {
      await expect(resolve(randomUUID(), 'open', alice, 'none')).resolves.toEqual({
        status: 'ready',
        credentialKind: 'none',
        credentialId: null,
        headers: {},
        expiresAt: null,
      });
    });

    it('answers NOT_FOUND for a header server with no stored values', async () => {
      const error = await busErrorOf(resolve(randomUUID(), 'unconfigured'));
      expect(error).toBeInstanceOf(BusError);
      expect(error.code).toBe('NOT_FOUND');
      expect(error.message).toBe('no credential configured for server unconfigured');
    });

    it('gives a principal its own value of a header over the shared one', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, { 'X-Api-Key': 'shared-key', 'X-Tenant': 'acme' });
      // Per-user values arrive with a later feature; the row is written as it will be.
      const own = { id: randomUUID(), serverId, principalId: alice.id, kind: 'header', name: 'x-api-key' };
      const sealed = new EnvelopeCipher(keyring).encrypt('alice-own-key', credentialAssociatedData(own));
      await sql.query(
        `INSERT INTO vault.credentials (id, server_id, principal_id, kind, name, sealed_value, key_id, created_at, updated_at)
         VALUES ($1, $2, $3, 'header', $4, $5, 'k1', now(), now())`,
        [own.id, serverId, own.principalId, own.name, sealed],
      );
      expect((await resolve(serverId, 'mixed', alice)).headers).toEqual({ 'x-api-key': 'alice-own-key', 'X-Tenant': 'acme' });
      expect((await resolve(serverId, 'mixed', bob)).headers).toEqual({ 'X-Api-Key': 'shared-key', 'X-Tenant': 'acme' });
    });
  });

  describe('associated data', () => {
    it('refuses to decrypt a sealed value copied from another server’s row', async () => {
      const victimId = randomUUID();
      const attackerId = randomUUID();
      await putHeaders(victimId, { 'X-Api-Key': 'victim-secret-value' });
      await putHeaders(attackerId, { 'X-Api-Key': 'attacker-own-value' });
      const [victimRow] = await rowsOf(victimId);
      const [attackerRow] = await rowsOf(attackerId);
      await sql.query('UPDATE vault.credentials SET sealed_value = $1 WHERE id = $2', [victimRow.sealed_value, attackerRow.id]);

      const error = await busErrorOf(resolve(attackerId, 'attacker'));
      expect(error.code).toBe('INTERNAL');
      expect(error.message).not.toContain('victim-secret-value');
      const cipher = new EnvelopeCipher(keyring);
      const attackerBinding = { id: attackerRow.id, serverId: attackerId, principalId: null, kind: 'header', name: 'X-Api-Key' };
      expect(() => cipher.decrypt(victimRow.sealed_value, credentialAssociatedData(attackerBinding))).toThrow(DecryptionError);
      // The victim's own row still opens.
      expect((await resolve(victimId, 'victim')).headers).toEqual({ 'X-Api-Key': 'victim-secret-value' });
    });

    it('refuses to decrypt a row moved to another server or principal', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, { 'X-Api-Key': 'moved-secret-value' });
      const [row] = await rowsOf(serverId);
      const elsewhere = randomUUID();
      await sql.query('UPDATE vault.credentials SET server_id = $1 WHERE id = $2', [elsewhere, row.id]);
      expect((await busErrorOf(resolve(elsewhere, 'elsewhere'))).code).toBe('INTERNAL');
      await sql.query('UPDATE vault.credentials SET server_id = $1, principal_id = $2 WHERE id = $3', [serverId, alice.id, row.id]);
      expect((await busErrorOf(resolve(serverId, 'reassigned', alice))).code).toBe('INTERNAL');
    });
  });

  describe('health', () => {
    it('serves readiness over HTTP with the database and bus probes, and nothing else', async () => {
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json().checks).toEqual({ database: 'ok', 'bus:in-process': 'ok' });
      expect((await app.inject({ method: 'GET', url: '/api/v1/credentials' })).statusCode).toBe(404);
    });
  });

  describe('secrecy', () => {
    it('writes no secret to the log during a put, resolve, failure and delete cycle', async () => {
      const secret = 'sk-live-never-logged-9f8e7d';
      const serverId = randomUUID();
      const before = logLines.length;
      await putHeaders(serverId, { 'X-Api-Key': secret, Authorization: `Bearer ${secret}` });
      expect((await resolve(serverId, 'logged')).headers['X-Api-Key']).toBe(secret);
      // The failure path logs too: make the stored value unreadable.
      await sql.query(`UPDATE vault.credentials SET name = 'X-Renamed' WHERE server_id = $1 AND name = 'X-Api-Key'`, [serverId]);
      const failure = await busErrorOf(resolve(serverId, 'logged'));
      await bus.request(RequestSubjects.vaultAdminServerCredentialsDelete, { serverId });

      const written = logLines.slice(before).join('');
      expect(written).toContain(serverId);
      expect(written).toContain('stored credential does not decrypt');
      expect(written).not.toContain(secret);
      expect(written).not.toContain(Buffer.from(secret).toString('base64'));
      expect(JSON.stringify(failure)).not.toContain(secret);
      expect(failure.message).not.toContain(secret);
    });
  });
});
