/**
 * Every bus subject Portcullis uses. Never rename one without a migration plan:
 * replicas of different versions talk over these names.
 */
export const RequestSubjects = {
  identityAuthenticate: 'identity.authenticate',
  identityAdminApiKeyCreate: 'identity.admin.api-key.create',
  identityAdminApiKeyList: 'identity.admin.api-key.list',
  identityAdminApiKeyRevoke: 'identity.admin.api-key.revoke',
  identityAdminIdentityProviderCreate: 'identity.admin.identity-provider.create',
  identityAdminIdentityProviderList: 'identity.admin.identity-provider.list',
  identityAdminIdentityProviderGet: 'identity.admin.identity-provider.get',
  identityAdminIdentityProviderUpdate: 'identity.admin.identity-provider.update',
  identityAdminIdentityProviderDelete: 'identity.admin.identity-provider.delete',
  identityAdminUserList: 'identity.admin.user.list',
  identityAdminUserGet: 'identity.admin.user.get',
  identityAdminUserSetActive: 'identity.admin.user.set-active',
  identityAdminTeamList: 'identity.admin.team.list',
  identityAdminTeamCreate: 'identity.admin.team.create',
  identityAdminTeamGet: 'identity.admin.team.get',
  identityAdminTeamDelete: 'identity.admin.team.delete',
  identityAdminTeamMemberAdd: 'identity.admin.team.member.add',
  identityAdminTeamMemberRemove: 'identity.admin.team.member.remove',
  identityAdminVirtualAccountCreate: 'identity.admin.virtual-account.create',
  identityAdminVirtualAccountList: 'identity.admin.virtual-account.list',
  identityAdminVirtualAccountGet: 'identity.admin.virtual-account.get',
  identityAdminVirtualAccountUpdate: 'identity.admin.virtual-account.update',
  identityAdminVirtualAccountDelete: 'identity.admin.virtual-account.delete',
  identityAdminVirtualAccountTokenIssue: 'identity.admin.virtual-account.token.issue',
  identityAdminVirtualAccountTokenList: 'identity.admin.virtual-account.token.list',
  identityAdminVirtualAccountTokenRotate: 'identity.admin.virtual-account.token.rotate',
  identityAdminVirtualAccountTokenRevoke: 'identity.admin.virtual-account.token.revoke',
  identityExchange: 'identity.exchange',
  identityJwks: 'identity.jwks',
  identityAdminUserUpdate: 'identity.admin.user.update',
  identityLoginApiKey: 'identity.login.api-key',
  identityLoginLogout: 'identity.login.logout',
  identityLoginStart: 'identity.login.start',
  identityLoginComplete: 'identity.login.complete',
  identityAuthorizationServers: 'identity.authorization-servers',
  // identity subjects added later go here
  registryResolve: 'registry.resolve',
  registryAuthorize: 'registry.authorize',
  registryResolveVirtual: 'registry.virtual.resolve',
  // registry subjects added later go here
  vaultCredentialResolve: 'vault.credential.resolve',
  vaultAdminServerHeadersPut: 'vault.admin.server-headers.put',
  vaultAdminServerCredentialsDelete: 'vault.admin.server-credentials.delete',
  vaultAdminServerOAuthPut: 'vault.admin.server-oauth.put',
  vaultAdminServerOAuthGet: 'vault.admin.server-oauth.get',
  vaultUserCredentialPut: 'vault.user-credential.put',
  vaultUserCredentialDelete: 'vault.user-credential.delete',
  vaultOAuthStart: 'vault.oauth.start',
  vaultConnectionStatus: 'vault.connection.status',
  vaultConnectionList: 'vault.connection.list',
  vaultConnectionDelete: 'vault.connection.delete',
  vaultOAuthConnect: 'vault.oauth.connect',
  vaultOAuthCallback: 'vault.oauth.callback',
  vaultAdminKeysRotate: 'vault.admin.keys.rotate',
  vaultAdminSharedCredentialResolve: 'vault.admin.shared-credential.resolve',
  // vault subjects added later go here
} as const;

export const EventSubjects = {
  registryChanged: 'events.registry.changed',
  identityRevoked: 'events.identity.revoked',
  vaultChanged: 'events.vault.changed',
} as const;

/** JetStream stream holding every audit event (`audit.<action>`). */
export const AuditStream = {
  name: 'AUDIT',
  subjectPrefix: 'audit',
  durableConsumer: 'audit-writer',
} as const;

/** Queue group of each service: replicas of one service share its requests. */
export const ServiceQueues = {
  identity: 'identity',
  registry: 'registry',
  tokenVault: 'token-vault',
  audit: 'audit',
} as const;
