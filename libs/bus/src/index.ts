export * from './bus';
export * from './bus.errors';
export * from './bus.module';
export * from './in-process.bus';
export * from './nats.bus';
export * from './spooling-audit-publisher';
export * from './service-process';
