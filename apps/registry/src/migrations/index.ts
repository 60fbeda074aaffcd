import { CreateServers1763800000000 } from './1763800000000-create-servers.migration';
import { CreateAccess1763900000000 } from './1763900000000-create-access.migration';
import { CreateVirtualServers1764000000000 } from './1764000000000-create-virtual-servers.migration';
import { VirtualServerPolicies1764100000000 } from './1764100000000-virtual-server-policies.migration';
import { ServerAuthSettings1764200000000 } from './1764200000000-server-auth-settings.migration';
import { RequiredScopes1764500000000 } from './1764500000000-required-scopes.migration';

/** Every migration of the `registry` schema, oldest first. */
export const registryMigrations = [CreateServers1763800000000, CreateAccess1763900000000, CreateVirtualServers1764000000000, VirtualServerPolicies1764100000000, ServerAuthSettings1764200000000, RequiredScopes1764500000000];
