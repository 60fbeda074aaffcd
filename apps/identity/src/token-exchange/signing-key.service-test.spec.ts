import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { InProcessBus } from '@portcullis/bus';
import { AuditEvent, RequestSubjects } from '@portcullis/contracts';
import { EnvelopeCipher, Keyring } from '@portcullis/crypto';
import { createLogger } from '@portcullis/telemetry';
import { createTestDatabase, generateVaultKeys, TestDatabase, uniqueSubjectPrefix } from '@portcullis/testing';
import { DataSource } from 'typeorm';
import { Clock } from '../clock';
import { IdentityModule } from '../identity.module';
import { SigningKeyService } from './signing-key.service';

class FrozenClock extends Clock {
  constructor(private current: Date) {
    super();
  }
  override now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

const DAY = 24 * 3600 * 1000;

describe(SigningKeyService.name, () => {
  let database: TestDatabase;
  const keyring = Keyring.parse(generateVaultKeys());
  const clock = new FrozenClock(new Date('2030-01-01T00:00:00.000Z'));

  /** One identity replica's life: start (which ensures a key), read what it publishes, stop. */
  async function bootAndReadJwks(options: { keyring?: Keyring } = { keyring }) {
    const bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
    const audit: AuditEvent[] = [];
    await bus.consumeAudit(async (event) => void audit.push(event));
    const app: INestApplication = await NestFactory.create(
      IdentityModule.register({
        bus,
        closeBusOnShutdown: true,
        logger: createLogger({ service: 'identity', level: 'silent' }),
        databaseUrl: database.url,
        clock,
        publicUrl: 'https://gateway.keys.example',
        ...options,
      }),
      new FastifyAdapter(),
      { logger: false },
    );
    await app.init();
    try {
      const jwks = await bus.request(RequestSubjects.identityJwks, {});
      const rows = (await app.get(DataSource).query(`SELECT kid, private_jwk_sealed, retired_at FROM "identity"."signing_keys" ORDER BY created_at`)) as {
        kid: string;
        private_jwk_sealed: string;
        retired_at: Date | null;
      }[];
      for (let i = 0; i < 100 && bus.pendingAuditCount() > 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setImmediate(resolve));
      return { kids: jwks.keys.map((k) => k.kid), jwks, rows, audit };
    } finally {
      await app.close();
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase('identity-signing-keys');
  });
  afterAll(async () => {
    await database?.drop();
  });

  describe('onApplicationBootstrap', () => {
    it('creates one ES256 key on first start, keeps its private half sealed at rest, and publishes only the public half', async () => {
      const { jwks, rows, audit } = await bootAndReadJwks();
      expect(rows).toHaveLength(1);
      expect(jwks.keys).toEqual([{ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: rows[0].kid, alg: 'ES256', use: 'sig' }]);
      // Sealed with the keyring: no JWK member (and so no `d`) is readable from the column.
      expect(rows[0].private_jwk_sealed).not.toMatch(/"d"|"kty"|"crv"/);
      // Audited by key id only: neither the private key nor its sealed form is in the event.
      expect(audit).toEqual([
        expect.objectContaining({ action: 'key.rotated', outcome: 'success', principal: null, credentialKind: 'signing-key', credentialId: rows[0].kid, reason: `first signing key ${rows[0].kid}` }),
      ]);
      const privateJwk = JSON.parse(new EnvelopeCipher(keyring).decrypt(rows[0].private_jwk_sealed, `signing-key:${rows[0].kid}`)) as { d: string };
      expect(JSON.stringify(audit)).not.toContain(privateJwk.d);
      expect(JSON.stringify(audit)).not.toContain(rows[0].private_jwk_sealed);
    });

    it('reuses the active key on a restart within 30 days', async () => {
      clock.advance(29 * DAY);
      const { rows, audit } = await bootAndReadJwks();
      expect(rows).toHaveLength(1);
      expect(audit).toEqual([]);
    });

    it('creates a new key once the active one is 30 days old, keeps the old one published for a day, then retires it', async () => {
      clock.advance(2 * DAY);
      const rotated = await bootAndReadJwks();
      expect(rotated.rows).toHaveLength(2);
      expect(rotated.kids).toEqual([rotated.rows[1].kid, rotated.rows[0].kid]);
      expect(rotated.audit).toEqual([
        expect.objectContaining({
          action: 'key.rotated',
          credentialId: rotated.rows[1].kid,
          reason: `new signing key ${rotated.rows[1].kid} replaces ${rotated.rows[0].kid} (31 days old)`,
        }),
      ]);

      clock.advance(DAY + 1000);
      const later = await bootAndReadJwks();
      expect(later.rows[0].retired_at).not.toBeNull();
      expect(later.kids).toEqual([later.rows[1].kid]);
      expect(later.audit).toEqual([expect.objectContaining({ action: 'key.rotated', credentialId: later.rows[1].kid, reason: `retired superseded ${later.rows[0].kid}` })]);
    });

    it('rotates while running: the hourly check makes a new key once the active one is 30 days old and signs with it', async () => {
      const bus = new InProcessBus({ subjectPrefix: uniqueSubjectPrefix() });
      const app: INestApplication = await NestFactory.create(
        IdentityModule.register({ bus, closeBusOnShutdown: true, logger: createLogger({ service: 'identity', level: 'silent' }), databaseUrl: database.url, clock, publicUrl: 'https://gateway.keys.example', keyring }),
        new FastifyAdapter(),
        { logger: false },
      );
      await app.init();
      try {
        const keys = app.get(SigningKeyService);
        const before = (await keys.signingKey()).kid;
        await keys.rotate();
        expect((await keys.signingKey()).kid).toBe(before);
        clock.advance(30 * DAY);
        await keys.rotate();
        const after = (await keys.signingKey()).kid;
        expect(after).not.toBe(before);
        expect(keys.jwks().keys.map((k) => k.kid)).toEqual([after, before]);
      } finally {
        await app.close();
      }
    });

    it('refuses to open a private key under another keyring (a stolen database is not a signing key)', async () => {
      await expect(bootAndReadJwks({ keyring: Keyring.parse(generateVaultKeys()) })).rejects.toThrow();
    });

    it('publishes nothing and creates no key without a keyring', async () => {
      const fresh = await createTestDatabase('identity-no-keyring');
      const previous = database;
      database = fresh;
      try {
        const { kids, rows } = await bootAndReadJwks({ keyring: undefined });
        expect(kids).toEqual([]);
        expect(rows).toEqual([]);
      } finally {
        database = previous;
        await fresh.drop();
      }
    });
  });
});
