import { ConfigError } from '@portcullis/telemetry';
import { loadAuditConfig } from './audit.config';

describe('loadAuditConfig', () => {
  const env = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/portcullis', NATS_URL: 'nats://127.0.0.1:4222' };

  it('applies the documented defaults', () => {
    expect(loadAuditConfig(env)).toMatchObject({ AUDIT_PORT: 8082, HOST: '0.0.0.0', LOG_LEVEL: 'info' });
  });

  it('reads AUDIT_PORT from the environment', () => {
    expect(loadAuditConfig({ ...env, AUDIT_PORT: '9082' }).AUDIT_PORT).toBe(9082);
  });

  it('rejects a missing DATABASE_URL and a bad port in one line naming both', () => {
    let error: unknown;
    try {
      loadAuditConfig({ NATS_URL: env.NATS_URL, AUDIT_PORT: 'eighty' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/^audit: invalid configuration: /);
    expect(message).toContain('DATABASE_URL is missing');
    expect(message).toContain('AUDIT_PORT is invalid');
    expect(message).not.toContain('\n');
  });
});
