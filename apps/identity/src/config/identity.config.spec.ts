import { ConfigError } from '@portcullis/telemetry';
import { randomBytes } from 'node:crypto';
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

  it('parses IDENTITY_KEYS into a keyring (optional) and PUBLIC_URL without a trailing slash', () => {
    const config = loadIdentityConfig({ ...base, IDENTITY_KEYS: `s1:${randomBytes(32).toString('base64')}`, PUBLIC_URL: 'https://gw.example/' });
    expect(config.IDENTITY_KEYS?.activeKid).toBe('s1');
    expect(config.PUBLIC_URL).toBe('https://gw.example');
    const defaults = loadIdentityConfig(base);
    expect(defaults.IDENTITY_KEYS).toBeUndefined();
    expect(defaults.PUBLIC_URL).toBe('http://localhost:8080');
  });

  it('rejects a bad IDENTITY_KEYS without echoing key material', () => {
    const short = randomBytes(16).toString('base64');
    let error: unknown;
    try {
      loadIdentityConfig({ ...base, IDENTITY_KEYS: `s1:${short}` });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('IDENTITY_KEYS');
    expect((error as Error).message).not.toContain(short);
  });
});
