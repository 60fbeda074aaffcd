import { ConfigError } from '@portcullis/telemetry';
import { loadIdentityConfig } from './identity.config';

const base = { NATS_URL: 'nats://127.0.0.1:4222', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/portcullis' };

describe(loadIdentityConfig.name, () => {
  it('applies the documented defaults', () => {
    expect(loadIdentityConfig(base)).toMatchObject({ IDENTITY_PORT: 8083, HOST: '0.0.0.0', LOG_LEVEL: 'info' });
  });

  it('names every missing required setting in one line', () => {
    expect(() => loadIdentityConfig({})).toThrow(ConfigError);
    expect(() => loadIdentityConfig({})).toThrow(/NATS_URL is missing.*DATABASE_URL is missing|DATABASE_URL is missing.*NATS_URL is missing/);
  });

  it('rejects a guessable bootstrap token without echoing it', () => {
    const short = 'short-admin-token';
    let error: unknown;
    try {
      loadIdentityConfig({ ...base, PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN: short });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN');
    expect((error as Error).message).not.toContain(short);
  });

  it('treats an empty bootstrap token as unset', () => {
    expect(loadIdentityConfig({ ...base, PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN: '' }).PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN).toBeUndefined();
  });
});
