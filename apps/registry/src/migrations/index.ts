import { CreateServers1763800000000 } from './1763800000000-create-servers.migration';
import { CreateAccess1763900000000 } from './1763900000000-create-access.migration';

/** Every migration of the `registry` schema, oldest first. */
export const registryMigrations = [CreateServers1763800000000, CreateAccess1763900000000];
