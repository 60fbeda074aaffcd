export { RegistryModule, REGISTRY_SCHEMA, type RegistryModuleOptions } from './registry.module';
export { RegistryConfigSchema, loadRegistryConfig, type RegistryConfig } from './config/registry.config';
export { Clock } from './clock';
