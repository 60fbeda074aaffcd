import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR } from '@nestjs/core';
import { Bus, BusModule } from '@portcullis/bus';
import { PersistenceModule } from '@portcullis/persistence';
import { Logger, ObservabilityModule } from '@portcullis/telemetry';
import { AccessModule } from './access/access.module';
import { AdminAuditInterceptor } from './admin-audit/admin-audit.interceptor';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuthorizationModule } from './authorization/authorization.module';
import { Clock } from './clock';
import { CollaboratorEntity } from './collaborators/collaborator.entity';
import { CollaboratorsModule } from './collaborators/collaborators.module';
import { RegistryChangeAnnouncer } from './events/registry-change.announcer';
import { GroupEntity } from './groups/group.entity';
import { GroupsModule } from './groups/groups.module';
import { IdentityAdminModule } from './identity-admin/identity-admin.module';
import { IdentityProvidersModule } from './identity-providers/identity-providers.module';
import { OpenApiModule } from './openapi/openapi.module';
import { ToolPolicyEntity } from './tools/tool-policy.entity';
import { ToolSettingEntity } from './tools/tool-setting.entity';
import { ToolsModule } from './tools/tools.module';
import { VirtualServerToolEntity } from './virtual-servers/virtual-server-tool.entity';
import { VirtualServerEntity } from './virtual-servers/virtual-server.entity';
import { VirtualServersModule } from './virtual-servers/virtual-servers.module';
import { registryMigrations } from './migrations';
import { RegistryExceptionFilter } from './registry-exception.filter';
import { REGISTRY_SETTINGS, RegistrySettings } from './registry.settings';
import { ServerEntity } from './servers/server.entity';
import { ServersModule } from './servers/servers.module';

export const REGISTRY_SCHEMA = 'registry';
const DEFAULT_DEPENDENCY_TIMEOUT_MS = 5000;

export interface RegistryModuleOptions {
  bus: Bus;
  /** Whether closing this app closes the bus (false when all-in-one shares one bus between apps). */
  closeBusOnShutdown: boolean;
  logger: Logger;
  databaseUrl: string;
  /** How long a call to identity or token-vault may take before the API answers 503 (default 5000). */
  dependencyTimeoutMs?: number;
  /** Allow upstream URLs on private, loopback and link-local addresses (default false: the SSRF guard refuses them). */
  outboundAllowPrivate?: boolean;
  /** The time source; tests pass a frozen one. */
  clock?: Clock;
}

/** The whole registry: the admin REST API under `/api/v1` (OpenAPI at `/api/openapi.json`), `registry.resolve` and `registry.authorize` on the bus. */
@Module({})
export class RegistryModule {
  static register(options: RegistryModuleOptions): DynamicModule {
    const settings: RegistrySettings = {
      dependencyTimeoutMs: options.dependencyTimeoutMs ?? DEFAULT_DEPENDENCY_TIMEOUT_MS,
      outboundAllowPrivate: options.outboundAllowPrivate ?? false,
    };
    if (!Number.isInteger(settings.dependencyTimeoutMs) || settings.dependencyTimeoutMs <= 0) {
      throw new TypeError('dependencyTimeoutMs must be a positive integer');
    }
    return {
      module: RegistryModule,
      // Global so every feature module gets the one Clock and the settings.
      global: true,
      imports: [
        ObservabilityModule.forRoot({ service: 'registry', logger: options.logger }),
        BusModule.forRoot({ bus: options.bus, closeOnShutdown: options.closeBusOnShutdown }),
        PersistenceModule.forSchema({ url: options.databaseUrl, schema: REGISTRY_SCHEMA, entities: [ServerEntity, GroupEntity, CollaboratorEntity, ToolSettingEntity, ToolPolicyEntity, VirtualServerEntity, VirtualServerToolEntity], migrations: registryMigrations }),
        AuthorizationModule,
        AccessModule,
        ServersModule,
        GroupsModule,
        CollaboratorsModule,
        ToolsModule,
        VirtualServersModule,
        ApiKeysModule,
        IdentityProvidersModule,
        IdentityAdminModule,
        OpenApiModule,
      ],
      providers: [
        { provide: Clock, useValue: options.clock ?? new Clock() },
        { provide: REGISTRY_SETTINGS, useValue: settings },
        { provide: APP_FILTER, useClass: RegistryExceptionFilter },
        { provide: APP_INTERCEPTOR, useClass: AdminAuditInterceptor },
        RegistryChangeAnnouncer,
      ],
      exports: [Clock, REGISTRY_SETTINGS, RegistryChangeAnnouncer],
    };
  }
}
