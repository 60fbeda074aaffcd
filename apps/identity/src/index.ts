export { IdentityModule, IDENTITY_SCHEMA, type IdentityModuleOptions } from './identity.module';
export { IdentityConfigSchema, loadIdentityConfig, type IdentityConfig } from './config/identity.config';
export { Clock } from './clock';
