import { DynamicModule, Module } from '@nestjs/common';
import { Bus, BusModule } from '@portcullis/bus';
import { Keyring } from '@portcullis/crypto';
import { PersistenceModule } from '@portcullis/persistence';
import { Logger, ObservabilityModule } from '@portcullis/telemetry';
import { Clock } from './clock';
import { CredentialEntity, VAULT_SCHEMA } from './credentials/credential.entity';
import { CredentialsModule } from './credentials/credentials.module';
import { KeyRotationModule } from './key-rotation/key-rotation.module';
import { vaultMigrations } from './migrations';
import { ConsentFlowEntity } from './oauth/consent/consent-flow.entity';
import { OAuthTokenEntity } from './oauth/connections/oauth-token.entity';
import { OAuthModule } from './oauth/oauth.module';
import { DEFAULT_OAUTH_OPTIONS, type OAuthOptions } from './oauth/oauth.options';
import { OAuthSettingsEntity } from './oauth/settings/oauth-settings.entity';

export interface TokenVaultModuleOptions {
  bus: Bus;
  /** Whether closing this app closes the bus (false when all-in-one shares one bus between apps). */
  closeBusOnShutdown: boolean;
  logger: Logger;
  databaseUrl: string;
  /** Key-encryption keys (`VAULT_KEYS`); the first is active. */
  keyring: Keyring;
  /** The time source; tests pass a frozen one. */
  clock?: Clock;
  /** The gateway's public URL (`PUBLIC_URL`): OAuth consent sends the browser back to `{publicUrl}/oauth/callback`. Consent flows need it. */
  publicUrl?: string;
  /** May the vault reach authorization servers on private addresses (`OUTBOUND_ALLOW_PRIVATE`)? Default false. */
  outboundAllowPrivate?: boolean;
  /** Refresh timing and HTTP timeout of upstream OAuth; tests shorten or disable the scheduler. */
  oauth?: Partial<Omit<OAuthOptions, 'publicUrl' | 'outboundAllowPrivate'>>;
}

/** The whole token-vault: `vault.*` on the bus, health and metrics over HTTP. */
@Module({})
export class TokenVaultModule {
  static register(options: TokenVaultModuleOptions): DynamicModule {
    if (!(options.keyring instanceof Keyring)) throw new TypeError('TokenVaultModule needs a Keyring');
    return {
      module: TokenVaultModule,
      // Global so every feature module gets the one Clock.
      global: true,
      imports: [
        ObservabilityModule.forRoot({ service: 'token-vault', logger: options.logger }),
        BusModule.forRoot({ bus: options.bus, closeOnShutdown: options.closeBusOnShutdown }),
        PersistenceModule.forSchema({
          url: options.databaseUrl,
          schema: VAULT_SCHEMA,
          entities: [CredentialEntity, OAuthSettingsEntity, ConsentFlowEntity, OAuthTokenEntity],
          migrations: vaultMigrations,
        }),
        OAuthModule.register({
          keyring: options.keyring,
          oauth: {
            ...DEFAULT_OAUTH_OPTIONS,
            ...options.oauth,
            publicUrl: options.publicUrl?.replace(/\/+$/, ''),
            outboundAllowPrivate: options.outboundAllowPrivate ?? false,
          },
        }),
        CredentialsModule.register({ keyring: options.keyring }),
        KeyRotationModule.register({ keyring: options.keyring }),
      ],
      providers: [{ provide: Clock, useValue: options.clock ?? new Clock() }],
      exports: [Clock],
    };
  }
}
