import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { hashToken, tokenPrefix } from '@portcullis/crypto';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { Clock } from '../clock';
import { UserRepository } from '../users/user.repository';
import { ApiKeyRepository } from '../api-keys/api-key.repository';

export const BOOTSTRAP_ADMIN_EMAIL = 'admin@portcullis.local';
export const BOOTSTRAP_ADMIN_TOKEN = Symbol('BOOTSTRAP_ADMIN_TOKEN');

/**
 * Ensures the operator's `PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN` is an admin key of
 * admin@portcullis.local. Idempotent and race-free (ON CONFLICT), so every
 * replica may run it at every start. A revoked bootstrap key stays revoked.
 */
@Injectable()
export class BootstrapAdminService implements OnModuleInit {
  constructor(
    @Inject(BOOTSTRAP_ADMIN_TOKEN) private readonly token: string | undefined,
    private readonly users: UserRepository,
    private readonly apiKeys: ApiKeyRepository,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.token) return;
    const now = this.clock.now();
    const tokenHash = hashToken(this.token);
    const admin = await this.users.ensure({ email: BOOTSTRAP_ADMIN_EMAIL, isAdmin: true, createdAt: now });
    await this.apiKeys.insertIfAbsent({
      userId: admin.id,
      name: 'bootstrap',
      // Never show part of an operator-chosen secret; only our own token format has a public part.
      prefix: tokenPrefix(this.token) ?? 'bootstrap',
      tokenHash,
      isAdmin: true,
      createdAt: now,
      expiresAt: null,
    });
    const key = await this.apiKeys.findByTokenHash(tokenHash);
    if (!key || key.userId !== admin.id || !key.isAdmin) {
      this.log.warn('the bootstrap admin token is already in use as another key; it was left as it is');
    } else if (key.revokedAt) {
      this.log.warn({ apiKeyId: key.id }, 'the bootstrap admin key was revoked; it stays revoked');
    } else {
      this.log.info({ apiKeyId: key.id }, 'bootstrap admin key ensured');
    }
  }
}
