export { EdgeProxyModule } from './edge-proxy.module';
export { EDGE_PROXY_OPTIONS, type EdgeProxyModuleOptions } from './edge-proxy.options';
export { AuditBatchConfig, DEFAULT_MAX_REQUEST_BYTES, EdgeProxyConfigSchema, OriginPolicyConfig, loadEdgeProxyConfig, type EdgeProxyConfig } from './config/edge-proxy.config';
export { SessionKeysSchema } from './config/session-keys.config';
export { SealedSessions } from './sessions/sealed-sessions.service';
