import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { BusError, InProcessBus } from '@portcullis/bus';
import { AuthType, EventSubjects, HeaderMode, Principal, RequestSubjects } from '@portcullis/contracts';
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

  const serverOf = (id: string, slug: string, authType: AuthType = 'header') => ({ id, slug, authType, url: `https://${slug}.example.com/mcp` });
  const putHeaders = (serverId: string, headers: Record<string, string>, mode: HeaderMode = 'global') =>
    bus.request(RequestSubjects.vaultAdminServerHeadersPut, { serverId, headers, mode });
  const putUserValues = (serverId: string, values: Record<string, string>, principal: Principal = alice, authType: AuthType = 'header') =>
    bus.request(RequestSubjects.vaultUserCredentialPut, { principal, server: serverOf(serverId, 'per-user', authType), values });
  const resolve = (serverId: string, slug: string, principal: Principal = alice, authType: AuthType = 'header') =>
    bus.request(RequestSubjects.vaultCredentialResolve, { principal, server: serverOf(serverId, slug, authType) });
  /** Resolve for a server whose answer must be `ready`: its headers. */
  const headersOf = async (serverId: string, principal: Principal = alice) => {
    const resolved = await resolve(serverId, 'ready-check', principal);
    if (resolved.status !== 'ready') throw new Error(`expected ready, got ${resolved.status}`);
    return resolved.headers;
  };
  const rowsOf = async (serverId: string) =>
    (await sql.query('SELECT * FROM vault.credentials WHERE server_id = $1 ORDER BY lower(name), principal_id NULLS FIRST', [serverId])).rows;
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
      expect(await headersOf(serverId, bob)).toEqual({ 'X-Api-Key': 'sk-live-alpha-0001', 'X-Tenant': 'acme' });
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
      expect(await headersOf(serverId)).toEqual({ 'x-kept': 'second-value', 'X-New': 'new-value' });
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
      expect(await headersOf(otherId)).toEqual({ 'X-A': 'value-other' });
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

    it('serves only the shared set in global mode, whatever the principal', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, { 'X-Api-Key': 'shared-key' });
      expect(await headersOf(serverId, alice)).toEqual({ 'X-Api-Key': 'shared-key' });
      expect(await headersOf(serverId, bob)).toEqual({ 'X-Api-Key': 'shared-key' });
    });
  });

  describe('resolveShared (the gateway\'s own credential, for admin work)', () => {
    const shared = (serverId: string, authType: AuthType = 'header') => bus.request(RequestSubjects.vaultAdminSharedCredentialResolve, { server: serverOf(serverId, 'shared', authType) });

    it('hands the registry a global header set and nothing for a server without auth', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, { 'X-Api-Key': 'shared-key' });
      await expect(shared(serverId)).resolves.toMatchObject({ status: 'ready', headers: { 'X-Api-Key': 'shared-key' } });
      await expect(shared(randomUUID(), 'none')).resolves.toMatchObject({ status: 'ready', credentialKind: 'none', headers: {} });
    });

    it("never hands out a user's value or token this way (per-user templates and OAuth answer NOT_FOUND)", async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, { Authorization: 'Bearer {{API_KEY}}' }, 'per_user');
      await putUserValues(serverId, { API_KEY: 'alice-own-key' });
      await expect(shared(serverId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(shared(serverId, 'oauth2')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(shared(serverId, 'passthrough')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('per-user headers', () => {
    const template = { Authorization: 'Bearer {{API_KEY}}', 'X-Tenant': 'acme-{{TENANT}}' };
    const userRowsOf = async (serverId: string, principal: Principal) =>
      (await rowsOf(serverId)).filter((row) => row.principal_id === principal.id);

    it('asks for values until the user has set them, then renders the template with them', async () => {
      const serverId = randomUUID();
      await expect(putHeaders(serverId, template, 'per_user')).resolves.toEqual({ headerNames: ['Authorization', 'X-Tenant'] });
      await expect(resolve(serverId, 'templated')).resolves.toEqual({ status: 'value_required', credentialKind: 'header', variables: ['API_KEY', 'TENANT'] });

      await expect(putUserValues(serverId, { API_KEY: 'alice-key-1', TENANT: 'north' })).resolves.toEqual({ variables: ['API_KEY', 'TENANT'] });
      const [apiKeyRow] = (await userRowsOf(serverId, alice)).filter((row) => row.name === 'API_KEY');
      await expect(resolve(serverId, 'templated')).resolves.toEqual({
        status: 'ready',
        credentialKind: 'header',
        credentialId: apiKeyRow.id,
        headers: { Authorization: 'Bearer alice-key-1', 'X-Tenant': 'acme-north' },
        expiresAt: null,
      });
    });

    it('never serves alice’s value to bob (a credential of user A requested for user B)', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, { Authorization: 'Bearer {{API_KEY}}' }, 'per_user');
      await putUserValues(serverId, { API_KEY: 'alice-only-secret' }, alice);
      await expect(resolve(serverId, 'per-user', bob)).resolves.toEqual({ status: 'value_required', credentialKind: 'header', variables: ['API_KEY'] });

      await putUserValues(serverId, { API_KEY: 'bob-only-secret' }, bob);
      expect(await headersOf(serverId, bob)).toEqual({ Authorization: 'Bearer bob-only-secret' });
      expect(await headersOf(serverId, alice)).toEqual({ Authorization: 'Bearer alice-only-secret' });
    });

    it('seals each value in its own row bound to the principal, server and variable', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, template, 'per_user');
      await putUserValues(serverId, { API_KEY: 'sk-sealed-user-value', TENANT: 'south' });
      const rows = await rowsOf(serverId);
      expect(rows.map((row) => [row.kind, row.principal_id, row.name])).toEqual([
        ['header_value', alice.id, 'API_KEY'],
        ['header_template', null, 'Authorization'],
        ['header_value', alice.id, 'TENANT'],
        ['header_template', null, 'X-Tenant'],
      ]);
      expect(JSON.stringify(rows)).not.toContain('sk-sealed-user-value');
      expect(JSON.stringify(rows)).not.toContain('Bearer {{API_KEY}}');
      for (const row of rows) expect(row.sealed_value).toMatch(/^v1\.k1\./);
    });

    it('replaces a user’s values in place and announces the change for that user', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, { Authorization: 'Bearer {{API_KEY}}' }, 'per_user');
      await putUserValues(serverId, { API_KEY: 'first-value' });
      const [first] = await userRowsOf(serverId, alice);
      await new Promise((r) => setImmediate(r));
      vaultEvents.length = 0;
      await putUserValues(serverId, { API_KEY: 'second-value' });
      await new Promise((r) => setImmediate(r));
      expect(vaultEvents).toEqual([{ serverId, principalId: alice.id }]);
      expect((await userRowsOf(serverId, alice)).map((row) => row.id)).toEqual([first.id]);
      expect(await headersOf(serverId)).toEqual({ Authorization: 'Bearer second-value' });
    });

    it('refuses an unknown variable and a missing one with field errors, storing nothing', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, template, 'per_user');
      const unknown = await busErrorOf(putUserValues(serverId, { API_KEY: 'k-unknown-check', TENANT: 't', OTHER: 'x' }));
      expect(unknown.code).toBe('INVALID_REQUEST');
      expect(unknown.issues).toEqual([{ path: 'values.OTHER', message: "is not a variable of this server's header template" }]);
      expect(unknown.message).not.toContain('k-unknown-check');
      const missing = await busErrorOf(putUserValues(serverId, { API_KEY: 'k-missing-check' }));
      expect(missing.code).toBe('INVALID_REQUEST');
      expect(missing.issues).toEqual([{ path: 'values.TENANT', message: 'is required' }]);
      expect(await userRowsOf(serverId, alice)).toHaveLength(0);
    });

    it('refuses a value with a line break (header injection), and one that makes the header too long', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, { Authorization: 'Bearer {{API_KEY}}' }, 'per_user');
      for (const injected of ['key\r\nX-Injected: 1', 'key\nX-Injected: 1', 'key\rX']) {
        expect((await busErrorOf(putUserValues(serverId, { API_KEY: injected }))).code).toBe('INVALID_REQUEST');
      }
      const tooLong = await busErrorOf(putUserValues(serverId, { API_KEY: 'a'.repeat(8190) }));
      expect(tooLong.code).toBe('INVALID_REQUEST');
      expect(tooLong.issues).toEqual([{ path: 'values', message: 'make the Authorization header too long' }]);
      expect(await userRowsOf(serverId, alice)).toHaveLength(0);
    });

    it('sends a value containing {{OTHER}} as written, never expanding it', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, { Authorization: 'Bearer {{API_KEY}}', 'X-Tenant': '{{TENANT}}' }, 'per_user');
      await putUserValues(serverId, { API_KEY: '{{TENANT}}', TENANT: 'acme' });
      expect(await headersOf(serverId)).toEqual({ Authorization: 'Bearer {{TENANT}}', 'X-Tenant': 'acme' });
    });

    it('refuses a per_user set without variables, or with a malformed placeholder', async () => {
      const serverId = randomUUID();
      const none = await busErrorOf(putHeaders(serverId, { 'X-Api-Key': 'static-only' }, 'per_user'));
      expect(none.code).toBe('INVALID_REQUEST');
      expect(none.issues).toEqual([{ path: 'headers', message: 'a per_user header set needs at least one {{VARIABLE}} for users to fill in' }]);
      const malformed = await busErrorOf(putHeaders(serverId, { Authorization: 'Bearer {{api_key}}', 'X-Key': '{{KEY}}' }, 'per_user'));
      expect(malformed.issues).toEqual([{ path: 'headers.Authorization', message: expect.stringContaining('malformed placeholder') }]);
      expect(await rowsOf(serverId)).toHaveLength(0);
      // In global mode the same text is a literal value.
      await putHeaders(serverId, { Authorization: 'Bearer {{api_key}}' });
      expect(await headersOf(serverId)).toEqual({ Authorization: 'Bearer {{api_key}}' });
    });

    it('refuses values for a server without a per-user template', async () => {
      const globalId = randomUUID();
      await putHeaders(globalId, { 'X-Api-Key': 'shared' });
      expect((await busErrorOf(putUserValues(globalId, { API_KEY: 'x' }))).code).toBe('NOT_FOUND');
      expect((await busErrorOf(putUserValues(randomUUID(), { API_KEY: 'x' }))).code).toBe('NOT_FOUND');
      const perUserId = randomUUID();
      await putHeaders(perUserId, { Authorization: 'Bearer {{API_KEY}}' }, 'per_user');
      // The registry says the server is no longer a header server: its stored template does not count.
      expect((await busErrorOf(putUserValues(perUserId, { API_KEY: 'x' }, alice, 'oauth2'))).code).toBe('NOT_FOUND');
    });

    it('keeps values whose variables survive a template change, drops the others, and drops all on a switch to global', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, template, 'per_user');
      await putUserValues(serverId, { API_KEY: 'kept-key', TENANT: 'dropped-tenant' }, alice);
      await putUserValues(serverId, { API_KEY: 'bob-kept-key', TENANT: 'bob-tenant' }, bob);
      await new Promise((r) => setImmediate(r));
      vaultEvents.length = 0;

      await putHeaders(serverId, { Authorization: 'Token {{API_KEY}}', 'X-Region': '{{REGION}}' }, 'per_user');
      await new Promise((r) => setImmediate(r));
      expect(vaultEvents).toEqual([{ serverId, principalId: null }]);
      expect((await userRowsOf(serverId, alice)).map((row) => row.name)).toEqual(['API_KEY']);
      await expect(resolve(serverId, 'changed')).resolves.toEqual({ status: 'value_required', credentialKind: 'header', variables: ['API_KEY', 'REGION'] });
      await putUserValues(serverId, { API_KEY: 'kept-key', REGION: 'eu' });
      expect(await headersOf(serverId)).toEqual({ Authorization: 'Token kept-key', 'X-Region': 'eu' });

      await putHeaders(serverId, { 'X-Api-Key': 'now-global' });
      const rows = await rowsOf(serverId);
      expect(rows.map((row) => [row.kind, row.principal_id])).toEqual([['header', null]]);
      expect(await headersOf(serverId, bob)).toEqual({ 'X-Api-Key': 'now-global' });
    });

    it('deletes one user’s values only, and announces it', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, template, 'per_user');
      await putUserValues(serverId, { API_KEY: 'a', TENANT: 'b' }, alice);
      await putUserValues(serverId, { API_KEY: 'c', TENANT: 'd' }, bob);
      await new Promise((r) => setImmediate(r));
      vaultEvents.length = 0;
      await expect(bus.request(RequestSubjects.vaultUserCredentialDelete, { principalId: alice.id, serverId })).resolves.toEqual({ deleted: 2 });
      await new Promise((r) => setImmediate(r));
      expect(vaultEvents).toEqual([{ serverId, principalId: alice.id }]);
      expect((await resolve(serverId, 'deleted')).status).toBe('value_required');
      expect(await headersOf(serverId, bob)).toEqual({ Authorization: 'Bearer c', 'X-Tenant': 'acme-d' });
    });

    it('refuses to decrypt alice’s sealed value copied into bob’s row, answering an error and never her value', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, { Authorization: 'Bearer {{API_KEY}}' }, 'per_user');
      await putUserValues(serverId, { API_KEY: 'alice-copied-secret' }, alice);
      await putUserValues(serverId, { API_KEY: 'bob-own-secret' }, bob);
      const [aliceRow] = await userRowsOf(serverId, alice);
      const [bobRow] = await userRowsOf(serverId, bob);
      await sql.query('UPDATE vault.credentials SET sealed_value = $1 WHERE id = $2', [aliceRow.sealed_value, bobRow.id]);

      const failure = await resolve(serverId, 'copied', bob).then(
        (answer) => answer,
        (error: unknown) => error as BusError,
      );
      expect(failure).toBeInstanceOf(BusError);
      expect((failure as BusError).code).toBe('INTERNAL');
      expect(JSON.stringify(failure)).not.toContain('alice-copied-secret');
      expect((failure as BusError).message).not.toContain('alice-copied-secret');
      expect(await headersOf(serverId, alice)).toEqual({ Authorization: 'Bearer alice-copied-secret' });
    });

    it('refuses to decrypt alice’s row reassigned to bob', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, { Authorization: 'Bearer {{API_KEY}}' }, 'per_user');
      await putUserValues(serverId, { API_KEY: 'alice-moved-secret' }, alice);
      await sql.query('UPDATE vault.credentials SET principal_id = $1 WHERE server_id = $2 AND principal_id = $3', [bob.id, serverId, alice.id]);
      const error = await busErrorOf(resolve(serverId, 'moved', bob));
      expect(error.code).toBe('INTERNAL');
      expect(error.message).not.toContain('alice-moved-secret');
      expect((await resolve(serverId, 'moved', alice)).status).toBe('value_required');
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
      expect(await headersOf(victimId)).toEqual({ 'X-Api-Key': 'victim-secret-value' });
    });

    it('refuses to decrypt a row moved to another server or principal', async () => {
      const serverId = randomUUID();
      await putHeaders(serverId, { 'X-Api-Key': 'moved-secret-value' });
      const [row] = await rowsOf(serverId);
      const elsewhere = randomUUID();
      await sql.query('UPDATE vault.credentials SET server_id = $1 WHERE id = $2', [elsewhere, row.id]);
      expect((await busErrorOf(resolve(elsewhere, 'elsewhere'))).code).toBe('INTERNAL');
      // A shared header cannot even be stored as someone's own (per-user rows are covered below).
      await expect(sql.query('UPDATE vault.credentials SET server_id = $1, principal_id = $2 WHERE id = $3', [serverId, alice.id, row.id])).rejects.toThrow(
        /credentials_kind_scope/,
      );
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
      expect((await headersOf(serverId))['X-Api-Key']).toBe(secret);
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
