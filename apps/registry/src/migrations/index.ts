import { CreateServers1763800000000 } from './1763800000000-create-servers.migration';

/** Every migration of the `registry` schema, oldest first. */
export const registryMigrations = [CreateServers1763800000000];
