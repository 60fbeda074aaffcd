import { ConfigError } from '@portcullis/telemetry';
import { loadRegistryConfig } from './registry.config';

describe(loadRegistryConfig.name, () => {
  it('applies the documented defaults', () => {
    expect(loadRegistryConfig({ NATS_URL: 'nats://127.0.0.1:4222', DATABASE_URL: 'postgres://127.0.0.1/p' })).toMatchObject({ REGISTRY_PORT: 8081, HOST: '0.0.0.0', LOG_LEVEL: 'info' });
  });

  it('stops at start with one line naming every missing setting', () => {
    expect(() => loadRegistryConfig({})).toThrow(ConfigError);
    expect(() => loadRegistryConfig({ NATS_URL: 'nats://x' })).toThrow(/DATABASE_URL is missing/);
  });

  it('rejects a port out of range', () => {
    expect(() => loadRegistryConfig({ NATS_URL: 'nats://x', DATABASE_URL: 'postgres://x', REGISTRY_PORT: '70000' })).toThrow(/REGISTRY_PORT/);
  });
});
