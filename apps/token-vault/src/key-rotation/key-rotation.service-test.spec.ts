import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { BusError, InProcessBus } from '@portcullis/bus';
import { AuditEvent, Principal, RequestSubjects } from '@portcullis/contracts';
import { EnvelopeCipher, Keyring } from '@portcullis/crypto';
import { createLogger, Logger } from '@portcullis/telemetry';
import { createTestDatabase, eventually, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { Client } from 'pg';
import { credentialSealedColumns } from '../credentials/credential-sealed-columns';
import { KeyRotationIncompleteError } from '../errors';
import { OAuthBindings } from '../oauth/oauth-binding';
import { TokenVaultModule } from '../token-vault.module';
import { KeyRotationService } from './key-rotation.service';
import { rotateVaultKeys } from './rotate-vault-keys';
import type { SealedColumnsDescriptor } from './sealed-columns';

jest.setTimeout(60_000);

const alice: Principal = { id: 'user-alice', kind: 'user', sub: 'alice', teams: [], isAdmin: false };
const bob: Principal = { id: 'user-bob', kind: 'user', sub: 'bob', teams: [], isAdmin: false };

const k1 = Keyring.generate('k1');
/** VAULT_KEYS once the new key is added in front: k2 seals, k1 still opens. */
const k2k1 = k1.rotate('k2');
/** VAULT_KEYS once the old key is removed. */
const k2 = k2k1.retire('k1');

interface Vault {
  bus: InProcessBus;
  close(): Promise<void>;
}

/** What one principal must get from one server. */
interface Expectation {
  serverId: string;
  principal: Principal;
  headers: Record<string, string>;
}

const serverOf = (id: string) => ({ id, slug: `s-${id.slice(0, 8)}`, authType: 'header' as const, url: 'https://upstream.example.com/mcp' });

describe(KeyRotationService.name, () => {
  const databases: TestDatabase[] = [];
  const logLines: string[] = [];
  const logger: Logger = createLogger({ service: 'token-vault', level: 'info', destination: { write: (line: string) => void logLines.push(line) } });

  afterAll(async () => {
    for (const database of databases) await database.drop();
  });

  async function freshDatabase(): Promise<TestDatabase> {
    const database = await createTestDatabase('vault_rotation');
    databases.push(database);
    return database;
  }

  /** A whole token-vault on `database` with the given VAULT_KEYS. */
  async function bootVault(database: TestDatabase, keyring: Keyring): Promise<Vault> {
    const bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    const app = await NestFactory.create<NestFastifyApplication>(
      TokenVaultModule.register({ bus, closeBusOnShutdown: true, logger, databaseUrl: database.url, keyring }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.init();
    return { bus, close: () => app.close() };
  }

  /** Global headers on one server, a per-user template with alice's and bob's values on another (plus `extraServers` global ones). */
  async function seed(vault: Vault, extraServers = 0): Promise<Expectation[]> {
    const globalId = randomUUID();
    const perUserId = randomUUID();
    const put = (serverId: string, headers: Record<string, string>, mode: 'global' | 'per_user' = 'global') =>
      vault.bus.request(RequestSubjects.vaultAdminServerHeadersPut, { serverId, headers, mode });
    await put(globalId, { 'X-Api-Key': 'global-secret', 'X-Tenant': 'acme' });
    await put(perUserId, { Authorization: 'Bearer {{API_KEY}}' }, 'per_user');
    for (const [principal, value] of [
      [alice, 'alice-secret'],
      [bob, 'bob-secret'],
    ] as const) {
      await vault.bus.request(RequestSubjects.vaultUserCredentialPut, { principal, server: serverOf(perUserId), values: { API_KEY: value } });
    }
    const expectations: Expectation[] = [
      { serverId: globalId, principal: alice, headers: { 'X-Api-Key': 'global-secret', 'X-Tenant': 'acme' } },
      { serverId: perUserId, principal: alice, headers: { Authorization: 'Bearer alice-secret' } },
      { serverId: perUserId, principal: bob, headers: { Authorization: 'Bearer bob-secret' } },
    ];
    for (let index = 0; index < extraServers; index += 1) {
      const serverId = randomUUID();
      await put(serverId, { 'X-Api-Key': `extra-secret-${index}` });
      expectations.push({ serverId, principal: alice, headers: { 'X-Api-Key': `extra-secret-${index}` } });
    }
    return expectations;
  }

  async function expectAllResolve(vault: Vault, expectations: Expectation[]): Promise<void> {
    for (const { serverId, principal, headers } of expectations) {
      await expect(vault.bus.request(RequestSubjects.vaultCredentialResolve, { principal, server: serverOf(serverId) })).resolves.toMatchObject({
        status: 'ready',
        headers,
      });
    }
  }

  async function rowsOf(database: TestDatabase): Promise<Array<{ id: string; key_id: string; sealed_value: string }>> {
    const sql = new Client({ connectionString: database.url });
    await sql.connect();
    try {
      return (await sql.query('SELECT id, key_id, sealed_value FROM vault.credentials ORDER BY id')).rows;
    } finally {
      await sql.end();
    }
  }

  async function execute(database: TestDatabase, text: string, values: unknown[]): Promise<void> {
    const sql = new Client({ connectionString: database.url });
    await sql.connect();
    try {
      await sql.query(text, values);
    } finally {
      await sql.end();
    }
  }

  /** Seeds under k1 with a vault that is then shut down. */
  async function seededDatabase(extraServers = 0): Promise<{ database: TestDatabase; expectations: Expectation[] }> {
    const database = await freshDatabase();
    const vault = await bootVault(database, k1);
    try {
      return { database, expectations: await seed(vault, extraServers) };
    } finally {
      await vault.close();
    }
  }

  it('re-wraps every value under the new key: all still resolve, the old key can then be removed, a second run re-wraps nothing', async () => {
    const { database, expectations } = await seededDatabase();
    const before = await rowsOf(database);
    expect(before).toHaveLength(5);
    expect(before.every((row) => row.key_id === 'k1')).toBe(true);

    await expect(rotateVaultKeys({ databaseUrl: database.url, keyring: k2k1, batchSize: 2, logger })).resolves.toEqual({
      rewrapped: 5,
      alreadyCurrent: 0,
      activeKeyId: 'k2',
    });
    const after = await rowsOf(database);
    for (const [index, row] of after.entries()) {
      expect(row.key_id).toBe('k2');
      expect(row.sealed_value).toMatch(/^v1\.k2\./);
      // Only the data key is re-wrapped: iv and ciphertext are untouched.
      expect(row.sealed_value.split('.').slice(3)).toEqual(before[index].sealed_value.split('.').slice(3));
    }

    const withoutOldKey = await bootVault(database, k2);
    try {
      await expectAllResolve(withoutOldKey, expectations);
    } finally {
      await withoutOldKey.close();
    }
    await expect(rotateVaultKeys({ databaseUrl: database.url, keyring: k2, batchSize: 2, logger })).resolves.toEqual({
      rewrapped: 0,
      alreadyCurrent: 5,
      activeKeyId: 'k2',
    });
  });

  it('refuses to open re-wrapped values with the old key alone (a wrong key)', async () => {
    const { database, expectations } = await seededDatabase();
    await rotateVaultKeys({ databaseUrl: database.url, keyring: k2k1, batchSize: 10, logger });
    const oldKeyOnly = await bootVault(database, k1);
    try {
      const [{ serverId, principal }] = expectations;
      const error = await oldKeyOnly.bus.request(RequestSubjects.vaultCredentialResolve, { principal, server: serverOf(serverId) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BusError);
      expect((error as BusError).code).toBe('INTERNAL');
    } finally {
      await oldKeyOnly.close();
    }
  });

  it('finishes a run that stopped half-way, leaving the rows already done as they are', async () => {
    const { database, expectations } = await seededDatabase();
    // The process dies while re-wrapping the third row: the first batch of two is committed, the second rolled back.
    let opened = 0;
    const crashing: SealedColumnsDescriptor = {
      ...credentialSealedColumns,
      associatedData: (row, column) => {
        opened += 1;
        if (opened === 3) throw new Error('process killed');
        return credentialSealedColumns.associatedData(row, column);
      },
    };
    await expect(rotateVaultKeys({ databaseUrl: database.url, keyring: k2k1, batchSize: 2, logger, descriptors: [crashing] })).rejects.toThrow('process killed');
    const halfway = await rowsOf(database);
    expect(halfway.map((row) => row.key_id).sort()).toEqual(['k1', 'k1', 'k1', 'k2', 'k2']);
    const doneBefore = halfway.filter((row) => row.key_id === 'k2');

    await expect(rotateVaultKeys({ databaseUrl: database.url, keyring: k2k1, batchSize: 2, logger })).resolves.toEqual({
      rewrapped: 3,
      alreadyCurrent: 2,
      activeKeyId: 'k2',
    });
    const finished = await rowsOf(database);
    for (const done of doneBefore) expect(finished.find((row) => row.id === done.id)).toEqual(done);
    const vault = await bootVault(database, k2);
    try {
      await expectAllResolve(vault, expectations);
    } finally {
      await vault.close();
    }
  });

  it('leaves a ciphertext copied to another row unreadable and says so, after re-wrapping everything else', async () => {
    const { database } = await seededDatabase();
    const sql = new Client({ connectionString: database.url });
    await sql.connect();
    const { rows } = await sql.query(`SELECT id, principal_id, sealed_value FROM vault.credentials WHERE kind = 'header_value'`);
    await sql.end();
    const aliceRow = rows.find((row) => row.principal_id === alice.id);
    const bobRow = rows.find((row) => row.principal_id === bob.id);
    await execute(database, 'UPDATE vault.credentials SET sealed_value = $1 WHERE id = $2', [aliceRow.sealed_value, bobRow.id]);

    const failure = await rotateVaultKeys({ databaseUrl: database.url, keyring: k2k1, batchSize: 2, logger }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KeyRotationIncompleteError);
    expect((failure as Error).message).toContain(`vault.credentials#${bobRow.id}`);
    expect((failure as Error).message).toContain('re-wrapped 4 values');
    const after = await rowsOf(database);
    expect(after.filter((row) => row.key_id === 'k1').map((row) => row.id)).toEqual([bobRow.id]);
    // The copy was not re-wrapped into something that opens as bob's.
    expect(after.find((row) => row.id === bobRow.id)?.sealed_value).toBe(aliceRow.sealed_value);
  });

  it('shares the work between two runs at once (SKIP LOCKED): each value is re-wrapped exactly once', async () => {
    const { database, expectations } = await seededDatabase(20);
    const runs = await Promise.all([1, 2].map(() => rotateVaultKeys({ databaseUrl: database.url, keyring: k2k1, batchSize: 3, logger })));
    expect(runs[0].rewrapped + runs[1].rewrapped).toBe(25);
    expect((await rowsOf(database)).every((row) => row.key_id === 'k2')).toBe(true);
    const vault = await bootVault(database, k2);
    try {
      await expectAllResolve(vault, expectations);
    } finally {
      await vault.close();
    }
  });

  it('finds what to re-wrap from the kid inside each value when a table has no key id column', async () => {
    const { database, expectations } = await seededDatabase();
    const withoutKeyIdColumn: SealedColumnsDescriptor = { ...credentialSealedColumns, keyIdColumn: undefined };
    const run = () => rotateVaultKeys({ databaseUrl: database.url, keyring: k2k1, batchSize: 2, logger, descriptors: [withoutKeyIdColumn] });
    await expect(run()).resolves.toEqual({ rewrapped: 5, alreadyCurrent: 0, activeKeyId: 'k2' });
    await expect(run()).resolves.toEqual({ rewrapped: 0, alreadyCurrent: 5, activeKeyId: 'k2' });
    expect((await rowsOf(database)).every((row) => row.sealed_value.startsWith('v1.k2.'))).toBe(true);
    const vault = await bootVault(database, k2);
    try {
      await expectAllResolve(vault, expectations);
    } finally {
      await vault.close();
    }
  });

  it('refuses a descriptor whose names are not plain SQL identifiers (no SQL from descriptors)', async () => {
    const database = await freshDatabase();
    const injected: SealedColumnsDescriptor = { ...credentialSealedColumns, table: 'vault.credentials; DROP TABLE vault.credentials' };
    await expect(rotateVaultKeys({ databaseUrl: database.url, keyring: k2k1, batchSize: 2, logger, descriptors: [injected] })).rejects.toThrow(
      'invalid SQL identifier',
    );
    expect(await rowsOf(database)).toEqual([]);
  });

  it('runs as a command: node dist/apps/token-vault/key-rotation/rotate-keys.main.js prints the counts, and refuses a bad VAULT_KEYS in one line', async () => {
    const { database, expectations } = await seededDatabase();
    const script = join(__dirname, '../../../../dist/apps/token-vault/key-rotation/rotate-keys.main.js');
    const run = (vaultKeys: string, args: string[] = []) =>
      promisify(execFile)(process.execPath, [script, ...args], {
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: database.url, VAULT_KEYS: vaultKeys, LOG_LEVEL: 'warn' },
      });
    const { stdout } = await run(k2k1.toString(), ['--batch-size', '2']);
    expect(JSON.parse(stdout)).toEqual({ rewrapped: 5, alreadyCurrent: 0, activeKeyId: 'k2' });
    const vault = await bootVault(database, k2);
    try {
      await expectAllResolve(vault, expectations);
    } finally {
      await vault.close();
    }
    const refused = await run('k2:not-a-key').catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr.trim().split('\n')).toHaveLength(1);
    expect((refused as { stderr: string }).stderr).toContain('VAULT_KEYS');
  });

  it('covers every OAuth secret kind: client secrets, PKCE verifiers, access and refresh tokens', async () => {
    const database = await freshDatabase();
    await (await bootVault(database, k1)).close();
    const seal = new EnvelopeCipher(k1);
    const [serverId, openServerId, flowId, userTokenId, clientTokenId] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const userToken = { id: userTokenId, serverId, principalId: alice.id };
    const clientToken = { id: clientTokenId, serverId, principalId: null };
    const flow = { id: flowId, serverId, principalId: alice.id };
    const sql = new Client({ connectionString: database.url });
    await sql.connect();
    try {
      const settings = `INSERT INTO vault.oauth_settings (server_id, server_slug, resource, grant_type, sealed_client_secret, key_id, token_endpoint_auth_method, created_at, updated_at)
         VALUES ($1, 's', 'https://upstream.example.com/mcp', 'authorization_code', $2, $3, 'client_secret_basic', now(), now())`;
      await sql.query(settings, [serverId, seal.encrypt('client-secret', OAuthBindings.clientSecret(serverId)), 'k1']);
      // A public client: nothing sealed, no key id, nothing to re-wrap.
      await sql.query(settings, [openServerId, null, null]);
      await sql.query(
        `INSERT INTO vault.oauth_flows (id, server_id, server_slug, principal_id, sealed_code_verifier, key_id, created_at, expires_at)
         VALUES ($1, $2, 's', $3, $4, 'k1', now(), now() + interval '10 minutes')`,
        [flowId, serverId, alice.id, seal.encrypt('pkce-verifier', OAuthBindings.codeVerifier(flow))],
      );
      const token = `INSERT INTO vault.oauth_tokens (id, server_id, principal_id, grant_type, status, sealed_access_token, sealed_refresh_token, key_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'active', $5, $6, 'k1', now(), now())`;
      await sql.query(token, [
        userTokenId,
        serverId,
        alice.id,
        'authorization_code',
        seal.encrypt('alice-access', OAuthBindings.token(userToken, 'access_token')),
        seal.encrypt('alice-refresh', OAuthBindings.token(userToken, 'refresh_token')),
      ]);
      await sql.query(token, [clientTokenId, serverId, null, 'client_credentials', seal.encrypt('client-access', OAuthBindings.token(clientToken, 'access_token')), null]);

      await expect(rotateVaultKeys({ databaseUrl: database.url, keyring: k2k1, batchSize: 1, logger })).resolves.toEqual({
        rewrapped: 5,
        alreadyCurrent: 0,
        activeKeyId: 'k2',
      });
      const open = new EnvelopeCipher(k2);
      const one = async (query: string, id: string) => (await sql.query(query, [id])).rows[0];
      const secret = await one('SELECT sealed_client_secret, key_id FROM vault.oauth_settings WHERE server_id = $1', serverId);
      expect(secret.key_id).toBe('k2');
      expect(open.decrypt(secret.sealed_client_secret, OAuthBindings.clientSecret(serverId))).toBe('client-secret');
      expect(await one('SELECT sealed_client_secret, key_id FROM vault.oauth_settings WHERE server_id = $1', openServerId)).toEqual({ sealed_client_secret: null, key_id: null });
      const verifier = await one('SELECT sealed_code_verifier, key_id FROM vault.oauth_flows WHERE id = $1', flowId);
      expect(verifier.key_id).toBe('k2');
      expect(open.decrypt(verifier.sealed_code_verifier, OAuthBindings.codeVerifier(flow))).toBe('pkce-verifier');
      const tokens = await one('SELECT sealed_access_token, sealed_refresh_token, key_id FROM vault.oauth_tokens WHERE id = $1', userTokenId);
      expect(tokens.key_id).toBe('k2');
      expect(open.decrypt(tokens.sealed_access_token, OAuthBindings.token(userToken, 'access_token'))).toBe('alice-access');
      expect(open.decrypt(tokens.sealed_refresh_token, OAuthBindings.token(userToken, 'refresh_token'))).toBe('alice-refresh');
      const clientTokens = await one('SELECT sealed_access_token, sealed_refresh_token, key_id FROM vault.oauth_tokens WHERE id = $1', clientTokenId);
      expect(clientTokens).toMatchObject({ key_id: 'k2', sealed_refresh_token: null });
      expect(open.decrypt(clientTokens.sealed_access_token, OAuthBindings.token(clientToken, 'access_token'))).toBe('client-access');
    } finally {
      await sql.end();
    }
  });

  it('answers vault.admin.keys.rotate on the bus, audits and logs the run without key material', async () => {
    const { database, expectations } = await seededDatabase();
    const before = logLines.length;
    const vault = await bootVault(database, k2k1);
    const audited: AuditEvent[] = [];
    await vault.bus.consumeAudit(async (event) => void audited.push(event));
    try {
      await expect(vault.bus.request(RequestSubjects.vaultAdminKeysRotate, { batchSize: 500 })).resolves.toEqual({
        rewrapped: 5,
        alreadyCurrent: 0,
        activeKeyId: 'k2',
      });
      await expectAllResolve(vault, expectations);
      await eventually(() => audited.some((event) => event.action === 'key.rotated'));
      expect(audited.find((event) => event.action === 'key.rotated')).toMatchObject({ outcome: 'success', reason: expect.stringContaining('5 sealed values re-wrapped under k2') });
      for (const entry of k2k1.toString().split(',')) expect(JSON.stringify(audited)).not.toContain(entry.split(':')[1]);
    } finally {
      await vault.close();
    }
    const written = logLines.slice(before).join('');
    const audit = logLines.slice(before).map((line) => JSON.parse(line)).find((line) => line.audit === 'vault.keys.rotated');
    expect(audit).toMatchObject({ activeKeyId: 'k2', rewrapped: 5, alreadyCurrent: 0, keyIds: ['k2', 'k1'], tables: ['vault.credentials', 'vault.oauth_settings', 'vault.oauth_flows', 'vault.oauth_tokens'] });
    for (const entry of k2k1.toString().split(',')) expect(written).not.toContain(entry.split(':')[1]);
    expect(written).not.toMatch(/alice-secret|bob-secret|global-secret/);
  });
});

