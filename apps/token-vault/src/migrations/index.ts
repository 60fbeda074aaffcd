import { CreateCredentials1763800000000 } from './1763800000000-create-credentials.migration';

/** Every migration of the `vault` schema, oldest first. */
export const vaultMigrations = [CreateCredentials1763800000000];
