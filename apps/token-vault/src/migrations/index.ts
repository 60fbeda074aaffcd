import { CreateCredentials1763800000000 } from './1763800000000-create-credentials.migration';
import { PerUserHeaderCredentials1764300000000 } from './1764300000000-per-user-header-credentials.migration';
import { CreateOAuth1764400000000 } from './1764400000000-create-oauth.migration';
import { OAuthPrincipalKind1764500000000 } from './1764500000000-oauth-principal-kind.migration';

/** Every migration of the `vault` schema, oldest first. */
export const vaultMigrations = [CreateCredentials1763800000000, PerUserHeaderCredentials1764300000000, CreateOAuth1764400000000, OAuthPrincipalKind1764500000000];
