import { DynamicModule, Module } from '@nestjs/common';
import { EnvelopeCipher, Keyring } from '@portcullis/crypto';
import { ConnectionsService } from './connections/connections.service';
import { OAuthCredentialService } from './connections/oauth-credential.service';
import { OAuthTokenRepository } from './connections/oauth-token.repository';
import { RefreshScheduler } from './connections/refresh.scheduler';
import { TokenRefresher } from './connections/token-refresher';
import { TokenSealer } from './connections/token-sealer';
import { ConsentFlowRepository } from './consent/consent-flow.repository';
import { ConsentFlowService } from './consent/consent-flow.service';
import { OAuthDiscoveryService } from './discovery/oauth-discovery.service';
import { OAuthHttpClient } from './http/oauth-http.client';
import { TokenEndpointClient } from './http/token-endpoint.client';
import { OAUTH_OPTIONS, type OAuthOptions } from './oauth.options';
import { OAuthAudit } from './oauth-audit';
import { OAuthHandler } from './oauth.handler';
import { OAuthSettingsRepository } from './settings/oauth-settings.repository';
import { OAuthSettingsService } from './settings/oauth-settings.service';

/**
 * Upstream OAuth (DESIGN §5, §6, §10): settings (completed by discovery and
 * registration), consent flows, connections, refresh. Global so credential resolution can hand `oauth2` and
 * `passthrough` servers to OAuthCredentialService.
 */
@Module({})
export class OAuthModule {
  static register(options: { keyring: Keyring; oauth: OAuthOptions }): DynamicModule {
    return {
      module: OAuthModule,
      global: true,
      providers: [
        { provide: OAUTH_OPTIONS, useValue: options.oauth },
        { provide: Keyring, useValue: options.keyring },
        { provide: EnvelopeCipher, useFactory: (keyring: Keyring) => new EnvelopeCipher(keyring), inject: [Keyring] },
        OAuthHttpClient,
        TokenEndpointClient,
        OAuthAudit,
        OAuthDiscoveryService,
        OAuthSettingsRepository,
        OAuthSettingsService,
        ConsentFlowRepository,
        ConsentFlowService,
        OAuthTokenRepository,
        TokenSealer,
        TokenRefresher,
        OAuthCredentialService,
        ConnectionsService,
        RefreshScheduler,
        OAuthHandler,
      ],
      exports: [OAuthCredentialService, RefreshScheduler],
    };
  }
}
