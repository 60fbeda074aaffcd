import { CreateCredentials1763800000000 } from './1763800000000-create-credentials.migration';
import { PerUserHeaderCredentials1764300000000 } from './1764300000000-per-user-header-credentials.migration';

/** Every migration of the `vault` schema, oldest first. */
export const vaultMigrations = [CreateCredentials1763800000000, PerUserHeaderCredentials1764300000000];
