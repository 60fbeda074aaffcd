import { z } from 'zod';
import { EventSubjects, RequestSubjects } from './subjects';
import * as identity from './identity.contract';
import * as identityProviders from './identity-provider.contract';
import * as identityAdmin from './identity-admin.contract';
import * as tokenExchange from './token-exchange.contract';
import * as browserLogin from './browser-login.contract';
import * as oidcLogin from './oidc-login.contract';
import * as registry from './registry.contract';
import * as access from './access.contract';
import * as virtualServers from './virtual-server.contract';
import * as vault from './vault.contract';
import * as events from './events.contract';

/** Request/reply contracts: both sides validate against these. */
export const RequestContracts = {
  [RequestSubjects.identityAuthenticate]: { request: identity.AuthenticateRequestSchema, response: identity.AuthenticateResponseSchema },
  [RequestSubjects.identityAdminApiKeyCreate]: { request: identity.CreateApiKeyRequestSchema, response: identity.CreateApiKeyResponseSchema },
  [RequestSubjects.identityAdminApiKeyList]: { request: identity.ListApiKeysRequestSchema, response: identity.ListApiKeysResponseSchema },
  [RequestSubjects.identityAdminApiKeyRevoke]: { request: identity.RevokeApiKeyRequestSchema, response: identity.RevokeApiKeyResponseSchema },
  [RequestSubjects.identityAdminIdentityProviderCreate]: { request: identityProviders.CreateIdentityProviderRequestSchema, response: identityProviders.IdentityProviderResponseSchema },
  [RequestSubjects.identityAdminIdentityProviderList]: { request: identityProviders.ListIdentityProvidersRequestSchema, response: identityProviders.ListIdentityProvidersResponseSchema },
  [RequestSubjects.identityAdminIdentityProviderGet]: { request: identityProviders.IdentityProviderByNameRequestSchema, response: identityProviders.IdentityProviderResponseSchema },
  [RequestSubjects.identityAdminIdentityProviderUpdate]: { request: identityProviders.UpdateIdentityProviderRequestSchema, response: identityProviders.IdentityProviderResponseSchema },
  [RequestSubjects.identityAdminIdentityProviderDelete]: { request: identityProviders.IdentityProviderByNameRequestSchema, response: identityProviders.IdentityProviderResponseSchema },
  [RequestSubjects.identityAdminUserList]: { request: identityAdmin.ListUsersRequestSchema, response: identityAdmin.ListUsersResponseSchema },
  [RequestSubjects.identityAdminUserGet]: { request: identityAdmin.UserByIdRequestSchema, response: identityAdmin.UserResponseSchema },
  [RequestSubjects.identityAdminUserSetActive]: { request: identityAdmin.SetUserActiveRequestSchema, response: identityAdmin.SetUserActiveResponseSchema },
  [RequestSubjects.identityAdminTeamList]: { request: identityAdmin.ListTeamsRequestSchema, response: identityAdmin.ListTeamsResponseSchema },
  [RequestSubjects.identityAdminTeamCreate]: { request: identityAdmin.CreateTeamRequestSchema, response: identityAdmin.TeamResponseSchema },
  [RequestSubjects.identityAdminTeamGet]: { request: identityAdmin.TeamByNameRequestSchema, response: identityAdmin.TeamResponseSchema },
  [RequestSubjects.identityAdminTeamDelete]: { request: identityAdmin.TeamByNameRequestSchema, response: identityAdmin.TeamResponseSchema },
  [RequestSubjects.identityAdminTeamMemberAdd]: { request: identityAdmin.TeamMemberRequestSchema, response: identityAdmin.TeamResponseSchema },
  [RequestSubjects.identityAdminTeamMemberRemove]: { request: identityAdmin.TeamMemberRequestSchema, response: identityAdmin.TeamResponseSchema },
  [RequestSubjects.identityAdminVirtualAccountCreate]: { request: identityAdmin.CreateVirtualAccountRequestSchema, response: identityAdmin.VirtualAccountResponseSchema },
  [RequestSubjects.identityAdminVirtualAccountList]: { request: identityAdmin.ListVirtualAccountsRequestSchema, response: identityAdmin.ListVirtualAccountsResponseSchema },
  [RequestSubjects.identityAdminVirtualAccountGet]: { request: identityAdmin.VirtualAccountByNameRequestSchema, response: identityAdmin.VirtualAccountResponseSchema },
  [RequestSubjects.identityAdminVirtualAccountUpdate]: { request: identityAdmin.UpdateVirtualAccountRequestSchema, response: identityAdmin.VirtualAccountResponseSchema },
  [RequestSubjects.identityAdminVirtualAccountDelete]: { request: identityAdmin.VirtualAccountByNameRequestSchema, response: identityAdmin.VirtualAccountResponseSchema },
  [RequestSubjects.identityAdminVirtualAccountTokenIssue]: { request: identityAdmin.IssueVirtualAccountTokenRequestSchema, response: identityAdmin.IssuedVirtualAccountTokenResponseSchema },
  [RequestSubjects.identityAdminVirtualAccountTokenList]: { request: identityAdmin.ListVirtualAccountTokensRequestSchema, response: identityAdmin.ListVirtualAccountTokensResponseSchema },
  [RequestSubjects.identityAdminVirtualAccountTokenRotate]: { request: identityAdmin.RotateVirtualAccountTokenRequestSchema, response: identityAdmin.RotatedVirtualAccountTokenResponseSchema },
  [RequestSubjects.identityAdminVirtualAccountTokenRevoke]: { request: identityAdmin.RevokeVirtualAccountTokenRequestSchema, response: identityAdmin.VirtualAccountTokenResponseSchema },
  [RequestSubjects.identityExchange]: { request: tokenExchange.TokenExchangeRequestSchema, response: tokenExchange.TokenExchangeResponseSchema },
  [RequestSubjects.identityJwks]: { request: tokenExchange.JwksRequestSchema, response: tokenExchange.JwksResponseSchema },
  [RequestSubjects.identityAdminUserUpdate]: { request: identityAdmin.UpdateUserRequestSchema, response: identityAdmin.UserResponseSchema },
  [RequestSubjects.identityLoginApiKey]: { request: browserLogin.LoginWithApiKeyRequestSchema, response: browserLogin.BrowserSessionResponseSchema },
  [RequestSubjects.identityLoginLogout]: { request: browserLogin.LogoutRequestSchema, response: browserLogin.LogoutResponseSchema },
  [RequestSubjects.identityLoginStart]: { request: oidcLogin.OidcLoginStartRequestSchema, response: oidcLogin.OidcLoginStartResponseSchema },
  [RequestSubjects.identityLoginComplete]: { request: oidcLogin.OidcLoginCompleteRequestSchema, response: oidcLogin.OidcLoginCompleteResponseSchema },
  [RequestSubjects.identityAuthorizationServers]: { request: identityProviders.AuthorizationServersRequestSchema, response: identityProviders.AuthorizationServersResponseSchema },
  // identity contracts added later go here
  [RequestSubjects.registryResolve]: { request: registry.ResolveTargetRequestSchema, response: registry.ResolveTargetResponseSchema },
  [RequestSubjects.registryAuthorize]: { request: access.AuthorizeRequestSchema, response: access.AuthorizeResponseSchema },
  [RequestSubjects.registryResolveVirtual]: { request: virtualServers.ResolveVirtualServerRequestSchema, response: virtualServers.ResolveVirtualServerResponseSchema },
  // registry contracts added later go here
  [RequestSubjects.vaultCredentialResolve]: { request: vault.ResolveCredentialRequestSchema, response: vault.ResolveCredentialResponseSchema },
  [RequestSubjects.vaultAdminServerHeadersPut]: { request: vault.PutServerHeadersRequestSchema, response: vault.PutServerHeadersResponseSchema },
  [RequestSubjects.vaultAdminServerCredentialsDelete]: { request: vault.DeleteServerCredentialsRequestSchema, response: vault.DeleteServerCredentialsResponseSchema },
  [RequestSubjects.vaultAdminServerOAuthPut]: { request: vault.PutServerOAuthRequestSchema, response: vault.PutServerOAuthResponseSchema },
  [RequestSubjects.vaultAdminServerOAuthGet]: { request: vault.GetServerOAuthRequestSchema, response: vault.GetServerOAuthResponseSchema },
  [RequestSubjects.vaultUserCredentialPut]: { request: vault.PutUserCredentialRequestSchema, response: vault.PutUserCredentialResponseSchema },
  [RequestSubjects.vaultUserCredentialDelete]: { request: vault.DeleteUserCredentialRequestSchema, response: vault.DeleteUserCredentialResponseSchema },
  [RequestSubjects.vaultOAuthStart]: { request: vault.OAuthStartRequestSchema, response: vault.OAuthStartResponseSchema },
  [RequestSubjects.vaultConnectionStatus]: { request: vault.ConnectionStatusRequestSchema, response: vault.ConnectionStatusResponseSchema },
  [RequestSubjects.vaultConnectionList]: { request: vault.ListConnectionsRequestSchema, response: vault.ListConnectionsResponseSchema },
  [RequestSubjects.vaultConnectionDelete]: { request: vault.DeleteConnectionRequestSchema, response: vault.DeleteConnectionResponseSchema },
  [RequestSubjects.vaultOAuthConnect]: { request: vault.OAuthConnectRequestSchema, response: vault.OAuthConnectResponseSchema },
  [RequestSubjects.vaultOAuthCallback]: { request: vault.OAuthCallbackRequestSchema, response: vault.OAuthCallbackResponseSchema },
  [RequestSubjects.vaultAdminKeysRotate]: { request: vault.RotateVaultKeysRequestSchema, response: vault.RotateVaultKeysResponseSchema },
  [RequestSubjects.vaultAdminSharedCredentialResolve]: { request: vault.ResolveSharedCredentialRequestSchema, response: vault.ResolveSharedCredentialResponseSchema },
  // vault contracts added later go here
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

export type RequestSubject = keyof typeof RequestContracts;
export type RequestOf<S extends RequestSubject> = z.infer<(typeof RequestContracts)[S]['request']>;
export type ResponseOf<S extends RequestSubject> = z.infer<(typeof RequestContracts)[S]['response']>;

/** Cache-invalidation events: every subscriber (every edge replica) hears each one. */
export const EventContracts = {
  [EventSubjects.registryChanged]: events.RegistryChangedEventSchema,
  [EventSubjects.identityRevoked]: events.IdentityRevokedEventSchema,
  [EventSubjects.vaultChanged]: events.VaultChangedEventSchema,
} as const satisfies Record<string, z.ZodType>;

export type EventSubject = keyof typeof EventContracts;
export type EventOf<E extends EventSubject> = z.infer<(typeof EventContracts)[E]>;
