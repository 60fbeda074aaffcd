export * from './test-database';
export * from './gateway-harness';
export * from './gateway-under-test';
