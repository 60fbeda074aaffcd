import { natsAuthOf } from '@portcullis/telemetry';
import { loadAllInOneConfig } from './all-in-one.config';

describe('loadAllInOneConfig', () => {
  it('runs on the in-process bus with nothing set, and no NATS credentials', () => {
    const config = loadAllInOneConfig({});
    expect(config.NATS_URL).toBeUndefined();
    expect(natsAuthOf(config)).toEqual({});
  });

  it('reads NATS_USER, NATS_PASSWORD and the NATS_TLS_* files with NATS_URL, as the distributed services do', () => {
    const config = loadAllInOneConfig({
      NATS_URL: 'tls://nats.internal:4222',
      NATS_USER: 'portcullis',
      NATS_PASSWORD: 'a-password-for-this-spec',
      NATS_TLS_CA_FILE: '/etc/nats/ca.pem',
      NATS_TLS_CERT_FILE: '/etc/nats/client.pem',
      NATS_TLS_KEY_FILE: '/etc/nats/client-key.pem',
    });
    expect(natsAuthOf(config)).toEqual({
      user: 'portcullis',
      pass: 'a-password-for-this-spec',
      tls: { caFile: '/etc/nats/ca.pem', certFile: '/etc/nats/client.pem', keyFile: '/etc/nats/client-key.pem' },
    });
  });

  it('takes a CA file alone (server-verified TLS without a client certificate), and treats empty values as unset', () => {
    const config = loadAllInOneConfig({ NATS_URL: 'tls://nats.internal:4222', NATS_TLS_CA_FILE: '/etc/nats/ca.pem', NATS_USER: '', NATS_PASSWORD: '' });
    expect(natsAuthOf(config)).toEqual({ tls: { caFile: '/etc/nats/ca.pem' } });
  });

  it('names a malformed NATS_URL in its one-line error without echoing a password', () => {
    expect(() => loadAllInOneConfig({ NATS_URL: 'http://nats:4222', NATS_PASSWORD: 'do-not-echo-me' })).toThrow(/NATS_URL/);
    try {
      loadAllInOneConfig({ NATS_URL: 'http://nats:4222', NATS_PASSWORD: 'do-not-echo-me' });
    } catch (error) {
      expect(String(error)).not.toContain('do-not-echo-me');
    }
  });
});
