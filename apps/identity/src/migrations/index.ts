import { CreateUsersAndApiKeys1763800000000 } from './1763800000000-create-users-and-api-keys.migration';
import { CreateIdentityProviders1763900000000 } from './1763900000000-create-identity-providers.migration';
import { CreateVirtualAccountTokens1764000000000 } from './1764000000000-create-virtual-account-tokens.migration';
import { CreateSigningKeys1764100000000 } from './1764100000000-create-signing-keys.migration';
import { AddUserAuditor1764200000000 } from './1764200000000-add-user-auditor.migration';
import { CreateBrowserSessions1764300000000 } from './1764300000000-create-browser-sessions.migration';
import { CreateLoginFlows1764400000000 } from './1764400000000-create-login-flows.migration';

/** Every migration of the `identity` schema, oldest first. */
export const identityMigrations = [CreateUsersAndApiKeys1763800000000, CreateIdentityProviders1763900000000, CreateVirtualAccountTokens1764000000000, CreateSigningKeys1764100000000, AddUserAuditor1764200000000, CreateBrowserSessions1764300000000, CreateLoginFlows1764400000000];
