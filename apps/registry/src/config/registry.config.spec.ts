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

  it('keeps the SSRF guard on unless OUTBOUND_ALLOW_PRIVATE is exactly true', () => {
    const base = { NATS_URL: 'nats://127.0.0.1:4222', DATABASE_URL: 'postgres://127.0.0.1/p' };
    expect(loadRegistryConfig(base).OUTBOUND_ALLOW_PRIVATE).toBe(false);
    expect(loadRegistryConfig({ ...base, OUTBOUND_ALLOW_PRIVATE: 'true' }).OUTBOUND_ALLOW_PRIVATE).toBe(true);
    expect(() => loadRegistryConfig({ ...base, OUTBOUND_ALLOW_PRIVATE: 'yes' })).toThrow(/OUTBOUND_ALLOW_PRIVATE/);
  });

  it('rejects a port out of range', () => {
    expect(() => loadRegistryConfig({ NATS_URL: 'nats://x', DATABASE_URL: 'postgres://x', REGISTRY_PORT: '70000' })).toThrow(/REGISTRY_PORT/);
  });
});
