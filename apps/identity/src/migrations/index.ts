import { CreateUsersAndApiKeys1763800000000 } from './1763800000000-create-users-and-api-keys.migration';

/** Every migration of the `identity` schema, oldest first. */
export const identityMigrations = [CreateUsersAndApiKeys1763800000000];
