export { AuditModule, type AuditModuleOptions } from './audit.module';
export { AuditConfigSchema, loadAuditConfig, type AuditConfig } from './config/audit.config';
export { AUDIT_SCHEMA } from './events/audit-event.entity';
export { AuditChain, type ChainLink, type ChainVerdict } from './events/audit-chain';
