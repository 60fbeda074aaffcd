import { ServiceProcess } from '@portcullis/testing';

const services = ['identity', 'token-vault', 'registry', 'audit', 'edge-proxy'];

describe('a service started with a missing or bad setting', () => {
  it.each(services)('%s stops at start with one line naming the setting', async (service) => {
    const process = ServiceProcess.start(service, { NATS_URL: 'not-a-url', DATABASE_URL: 'mysql://nope', VAULT_KEYS: 'k1:c2VjcmV0LWtleS1tYXRlcmlhbA==' });
    const code = await process.exited;
    expect(code).toBe(1);
    const lines = process.logs().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('NATS_URL');
    // A bad key is named, never echoed.
    expect(lines[0]).not.toContain('c2VjcmV0LWtleS1tYXRlcmlhbA');
  });
});
