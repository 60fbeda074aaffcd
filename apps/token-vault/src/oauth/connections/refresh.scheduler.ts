import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Bus } from '@portcullis/bus';
import { EventSubjects } from '@portcullis/contracts';
import { LOGGER, type Logger } from '@portcullis/telemetry';
import { Clock } from '../../clock';
import { OAUTH_OPTIONS, type OAuthOptions } from '../oauth.options';
import { OAuthSettingsRepository } from '../settings/oauth-settings.repository';
import { OAuthTokenRepository } from './oauth-token.repository';
import { TokenRefresher, type RenewalOutcome } from './token-refresher';

/** Most rows one pass renews; the next tick continues. */
const MAX_PER_PASS = 200;

/**
 * Renews tokens before they expire: user connections by refresh token and
 * servers' client_credentials tokens. Replicas share the work: each row is
 * taken with `FOR UPDATE SKIP LOCKED` and renewed under that lock, the same
 * lock an on-demand refresh takes.
 */
@Injectable()
export class RefreshScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(
    private readonly tokens: OAuthTokenRepository,
    private readonly settings: OAuthSettingsRepository,
    private readonly refresher: TokenRefresher,
    private readonly bus: Bus,
    private readonly clock: Clock,
    @Inject(OAUTH_OPTIONS) private readonly options: OAuthOptions,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.options.refreshIntervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.refreshDue().catch((error: unknown) => this.log.error({ err: error }, 'token refresh pass failed'));
    }, this.options.refreshIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One pass over the tokens due; returns how many were renewed. A pass already running is joined, not doubled. */
  refreshDue(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<number> {
    const handled: string[] = [];
    let renewed = 0;
    while (handled.length < MAX_PER_PASS) {
      const now = this.clock.now();
      const outcome = await this.tokens.lockNextDue(now, this.options.refreshWindowMs, handled, async (manager, row): Promise<RenewalOutcome | 'skipped'> => {
        handled.push(row.id);
        const settings = await this.settings.find(row.serverId);
        if (!settings || settings.grantType !== row.grantType) return 'skipped';
        try {
          const grant = row.grantType === 'authorization_code' ? this.refresher.refreshGrantOf(row, settings) : this.refresher.clientCredentialsGrantOf(settings);
          return await this.refresher.renewLocked(manager, row, settings, grant, now);
        } catch (error) {
          // One unreadable or misconfigured row must not stop the others.
          this.log.error({ credentialId: row.id, serverId: row.serverId, code: (error as { code?: unknown }).code }, 'token refresh failed');
          return 'skipped';
        }
      }).catch((error: unknown) => {
        this.log.error({ err: error }, 'token refresh pass stopped');
        return undefined;
      });
      if (outcome === undefined) break;
      if (outcome === 'skipped' || outcome.kind === 'failed') continue;
      if (outcome.kind === 'renewed') renewed += 1;
      if (outcome.kind !== 'kept') await this.bus.emit(EventSubjects.vaultChanged, { serverId: outcome.row.serverId, principalId: outcome.row.principalId });
    }
    return renewed;
  }
}
