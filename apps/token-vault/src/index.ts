export { TokenVaultModule, type TokenVaultModuleOptions } from './token-vault.module';
export { TokenVaultConfigSchema, loadTokenVaultConfig, type TokenVaultConfig } from './config/token-vault.config';
export { VAULT_SCHEMA } from './credentials/credential.entity';
export { Clock } from './clock';
// The upstream OAuth client's building blocks, usable without Nest or a database (the conformance suite's auth client uses them).
export { OAuthHttpClient, OAuthTransportError } from './oauth/http/oauth-http.client';
export { TokenEndpointClient, type IssuedTokens, type OAuthClientConfig } from './oauth/http/token-endpoint.client';
export {
  bearerChallengeOf,
  isClientIdMetadataUrl,
  OAuthDiscoveryError,
  OAuthDiscoveryService,
  type AuthorizationServerMetadata,
  type BearerChallenge,
  type ProtectedResource,
  type RegisteredClient,
} from './oauth/discovery/oauth-discovery.service';
export { authorizationUrlOf, codeExchangeParamsOf, randomOAuthSecret, type AuthorizationRequest } from './oauth/consent/authorization-request';
export { DEFAULT_OAUTH_OPTIONS, type OAuthOptions } from './oauth/oauth.options';
export { OAuthProviderRefusedError, OAuthProviderUnavailableError } from './errors';
