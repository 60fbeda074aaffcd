import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Bus, BusModule } from '@portcullis/bus';
import { PersistenceModule } from '@portcullis/persistence';
import { Logger, ObservabilityModule } from '@portcullis/telemetry';
import { ApiKeyEntity } from './api-keys/api-key.entity';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuthenticationModule } from './authentication/authentication.module';
import { IdentityAudit } from './audit/identity-audit';
import { BootstrapModule } from './bootstrap/bootstrap.module';
import { Clock } from './clock';
import { BOOTSTRAP_TOKEN_MIN_LENGTH } from './config/identity.config';
import { IdentityExceptionFilter } from './identity-exception.filter';
import { IdentityProviderEntity } from './identity-providers/identity-provider.entity';
import { IdentityProvidersModule } from './identity-providers/identity-providers.module';
import { identityMigrations } from './migrations';
import { TeamsModule } from './teams/teams.module';
import { UserEntity } from './users/user.entity';
import { UsersModule } from './users/users.module';
import { VirtualAccountsModule } from './virtual-accounts/virtual-accounts.module';
import { TokenExchangeModule } from './token-exchange/token-exchange.module';
import { OidcLoginModule } from './oidc-login/oidc-login.module';
import { TOKEN_EXCHANGE_OPTIONS } from './token-exchange/token-exchange.options';
import type { Keyring } from '@portcullis/crypto';

export const IDENTITY_SCHEMA = 'identity';

export interface IdentityModuleOptions {
  bus: Bus;
  /** Whether closing this app closes the bus (false when all-in-one shares one bus between apps). */
  closeBusOnShutdown: boolean;
  logger: Logger;
  databaseUrl: string;
  /** `PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN`: ensured at start as an admin key of admin@portcullis.local (≥ 32 characters). */
  bootstrapAdminToken?: string;
  /** The time source; tests pass a frozen one. */
  clock?: Clock;
  /** Seals identity's private signing keys (`IDENTITY_KEYS`); without it identity issues no JWTs and token exchange is refused. */
  keyring?: Keyring;
  /** The gateway's public URL (`PUBLIC_URL`): `iss` and `aud` of the JWTs identity issues. Default `http://localhost:8080`. */
  publicUrl?: string;
}

/** The whole identity service: `identity.authenticate` and `identity.admin.*` on the bus, health and metrics over HTTP. */
@Module({})
export class IdentityModule {
  static register(options: IdentityModuleOptions): DynamicModule {
    if (options.bootstrapAdminToken !== undefined && options.bootstrapAdminToken.length < BOOTSTRAP_TOKEN_MIN_LENGTH) {
      throw new TypeError(`bootstrapAdminToken must be at least ${BOOTSTRAP_TOKEN_MIN_LENGTH} characters`);
    }
    return {
      module: IdentityModule,
      // Global so every feature module gets the one Clock and audit publisher.
      global: true,
      imports: [
        ObservabilityModule.forRoot({ service: 'identity', logger: options.logger }),
        BusModule.forRoot({ bus: options.bus, closeOnShutdown: options.closeBusOnShutdown }),
        PersistenceModule.forSchema({
          url: options.databaseUrl,
          schema: IDENTITY_SCHEMA,
          entities: [UserEntity, ApiKeyEntity, IdentityProviderEntity],
          migrations: identityMigrations,
        }),
        ApiKeysModule,
        AuthenticationModule,
        IdentityProvidersModule,
        UsersModule,
        TeamsModule,
        VirtualAccountsModule,
        TokenExchangeModule,
        OidcLoginModule,
        BootstrapModule.register({ bootstrapAdminToken: options.bootstrapAdminToken }),
      ],
      providers: [
        { provide: Clock, useValue: options.clock ?? new Clock() },
        IdentityAudit,
        { provide: APP_FILTER, useClass: IdentityExceptionFilter },
        { provide: TOKEN_EXCHANGE_OPTIONS, useValue: { keyring: options.keyring, publicUrl: (options.publicUrl ?? 'http://localhost:8080').replace(/\/+$/, '') } },
      ],
      exports: [Clock, TOKEN_EXCHANGE_OPTIONS, IdentityAudit],
    };
  }
}
