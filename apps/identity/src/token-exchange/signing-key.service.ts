import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { JwksResponse } from '@portcullis/contracts';
import { EnvelopeCipher } from '@portcullis/crypto';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, JWK, JWTVerifyGetKey, SignJWT } from 'jose';
import { DataSource } from 'typeorm';
import { IdentityAudit } from '../audit/identity-audit';
import { Clock } from '../clock';
import { TOKEN_EXCHANGE_OPTIONS, TokenExchangeOptions } from './token-exchange.options';

export const SIGNING_ALGORITHM = 'ES256';
/** A new signing key is made at start when the active one is older than this. */
export const SIGNING_KEY_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
/** A superseded key stays published this long (far beyond the 15 min a gateway JWT lives), then is retired. */
export const SUPERSEDED_KEY_GRACE_MS = 24 * 3600 * 1000;
/** Another replica may have rotated: an unknown `kid` reloads the keys from the database at most this often. */
export const UNKNOWN_KID_RELOAD_MS = 30_000;
/** How often a running replica re-checks the key's age (rotating if due) and re-reads the keys. */
export const ROTATION_CHECK_MS = 3600 * 1000;
const LOCK_ID = 0x5349474e; // 'SIGN'

interface SigningKeyRow {
  kid: string;
  public_jwk: JWK;
  private_jwk_sealed: string;
  created_at: Date;
}

type PublicJwk = JwksResponse['keys'][number];
type SigningKey = Parameters<SignJWT['sign']>[0];

/** identity's ES256 signing keys: private halves sealed with the keyring, public halves published as a JWKS. */
@Injectable()
export class SigningKeyService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly cipher?: EnvelopeCipher;
  private published: PublicJwk[] = [];
  private verifier: JWTVerifyGetKey = createLocalJWKSet({ keys: [] });
  private active?: { kid: string; key: SigningKey };
  private lastReload = 0;
  private rotationTimer?: NodeJS.Timeout;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly audit: IdentityAudit,
    @Inject(TOKEN_EXCHANGE_OPTIONS) private readonly options: TokenExchangeOptions,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.cipher = options.keyring ? new EnvelopeCipher(options.keyring) : undefined;
  }

  get enabled(): boolean {
    return this.cipher !== undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.cipher) {
      this.log.info('no identity keyring: token exchange is disabled');
      return;
    }
    await this.rotate();
    this.rotationTimer = setInterval(() => {
      this.rotate().catch((error: unknown) => this.log.error({ err: error }, 'signing key rotation check failed'));
    }, ROTATION_CHECK_MS);
    this.rotationTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.rotationTimer);
  }

  /** At start and hourly: a new key if the active one is due, then the keys as they now are (another replica may have rotated). */
  async rotate(): Promise<void> {
    await this.ensureActiveKey();
    await this.reload();
  }

  /**
   * Creates a key if none is active or the newest is older than 30 days; retires keys superseded for a day. One replica at a time.
   * Whatever changed is one `key.rotated` audit event (key ids only), from the replica that changed it.
   */
  async ensureActiveKey(): Promise<void> {
    const cipher = this.requireCipher();
    const now = this.clock.now();
    const change = await this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
      const rows = (await manager.query(
        `SELECT kid, created_at FROM "identity"."signing_keys" WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC`,
      )) as Pick<SigningKeyRow, 'kid' | 'created_at'>[];
      let newest = rows[0];
      let created: { kid: string; replaced?: Pick<SigningKeyRow, 'kid' | 'created_at'> } | null = null;
      if (!newest || now.getTime() - newest.created_at.getTime() >= SIGNING_KEY_MAX_AGE_MS) {
        const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
        const kid = randomUUID();
        const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALGORITHM, use: 'sig' };
        const sealed = cipher.encrypt(JSON.stringify(await exportJWK(privateKey)), `signing-key:${kid}`);
        await manager.query(
          `INSERT INTO "identity"."signing_keys" (kid, algorithm, public_jwk, private_jwk_sealed, created_at) VALUES ($1, $2, $3, $4, $5)`,
          [kid, SIGNING_ALGORITHM, JSON.stringify(publicJwk), sealed, now],
        );
        this.log.info({ kid }, 'created a signing key');
        created = { kid, ...(newest ? { replaced: newest } : {}) };
        newest = { kid, created_at: now };
      }
      let retired: string[] = [];
      if (now.getTime() - newest.created_at.getTime() >= SUPERSEDED_KEY_GRACE_MS) {
        const [retiredRows] = (await manager.query(`UPDATE "identity"."signing_keys" SET retired_at = $1 WHERE retired_at IS NULL AND kid <> $2 RETURNING kid`, [
          now,
          newest.kid,
        ])) as [{ kid: string }[], number];
        retired = retiredRows.map((row) => row.kid);
      }
      return { created, retired, active: newest.kid };
    });
    if (change.created || change.retired.length > 0) {
      const parts: string[] = [];
      if (change.created) {
        const replaced = change.created.replaced;
        parts.push(replaced ? `new signing key ${change.created.kid} replaces ${replaced.kid} (${Math.floor((now.getTime() - replaced.created_at.getTime()) / 86_400_000)} days old)` : `first signing key ${change.created.kid}`);
      }
      if (change.retired.length > 0) parts.push(`retired superseded ${change.retired.join(', ')}`);
      this.audit.record({ action: 'key.rotated', outcome: 'success', method: 'signing-key.rotate', credentialKind: 'signing-key', credentialId: change.active, reason: parts.join('; ') });
    }
  }

  /** Public keys of every non-retired key: what `/.well-known/jwks.json` serves. */
  jwks(): JwksResponse {
    return { keys: this.published };
  }

  /** The key to sign with now. */
  async signingKey(): Promise<{ kid: string; key: SigningKey }> {
    if (!this.active) await this.reload();
    if (!this.active) throw new Error('no active signing key');
    return this.active;
  }

  /** jose key resolver over the published keys; an unknown `kid` reloads from the database (rate-limited). */
  readonly keyFor: JWTVerifyGetKey = async (header, token) => {
    if (header.kid && !this.published.some((k) => k.kid === header.kid) && this.clock.now().getTime() - this.lastReload >= UNKNOWN_KID_RELOAD_MS) {
      await this.reload();
    }
    return this.verifier(header, token);
  };

  /** Re-reads the non-retired keys; the newest becomes the one to sign with. */
  async reload(): Promise<void> {
    const cipher = this.requireCipher();
    this.lastReload = this.clock.now().getTime();
    const rows = (await this.dataSource.query(
      `SELECT kid, public_jwk, private_jwk_sealed, created_at FROM "identity"."signing_keys" WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC`,
    )) as SigningKeyRow[];
    this.published = rows.map((r) => publicOnly(r.public_jwk, r.kid));
    this.verifier = createLocalJWKSet({ keys: this.published as JWK[] });
    const newest = rows[0];
    if (newest && this.active?.kid !== newest.kid) {
      const privateJwk = JSON.parse(cipher.decrypt(newest.private_jwk_sealed, `signing-key:${newest.kid}`)) as JWK;
      this.active = { kid: newest.kid, key: await importJWK(privateJwk, SIGNING_ALGORITHM) };
    }
  }

  private requireCipher(): EnvelopeCipher {
    if (!this.cipher) throw new Error('identity has no keyring');
    return this.cipher;
  }
}

/** Only the public members, whatever the stored document holds. */
function publicOnly(jwk: JWK, kid: string): PublicJwk {
  return { kty: 'EC', crv: 'P-256', x: String(jwk.x), y: String(jwk.y), kid, alg: SIGNING_ALGORITHM, use: 'sig' };
}
