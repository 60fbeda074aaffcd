export * from './test-database';
export * from './gateway-harness';
export * from './gateway-under-test';
export * from './echo-mcp-server';
export * from './server-everything';
export * from './oidc-provider';
export * from './nats-server';
export * from './audit-event';
