import { randomBytes } from 'node:crypto';
import { Keyring } from '@portcullis/crypto';
import { ConfigError } from '@portcullis/telemetry';
import { DEFAULT_MAX_REQUEST_BYTES, DEFAULT_SESSION_MAX_AGE_SECONDS, loadEdgeProxyConfig } from './edge-proxy.config';

describe('loadEdgeProxyConfig', () => {
  const SESSION_KEYS = `s1:${randomBytes(32).toString('base64')}`;

  it('applies the documented defaults', () => {
    expect(loadEdgeProxyConfig({ NATS_URL: 'nats://localhost:4222', SESSION_KEYS })).toEqual({
      SESSION_KEYS: expect.any(Keyring),
      NATS_URL: 'nats://localhost:4222',
      PUBLIC_URL: 'http://localhost:8080',
      EDGE_PORT: 8080,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      MAX_REQUEST_BYTES: DEFAULT_MAX_REQUEST_BYTES,
      SESSION_MAX_AGE: DEFAULT_SESSION_MAX_AGE_SECONDS,
      ALLOWED_HOSTS: [],
      ALLOWED_ORIGINS: [],
      OUTBOUND_ALLOW_PRIVATE: false,
    });
  });

  it('reads the DNS-rebinding guard lists, comma-separated, and refuses what is not a host or an origin', () => {
    const config = loadEdgeProxyConfig({ NATS_URL: 'nats://n', SESSION_KEYS, ALLOWED_HOSTS: 'mcp.internal:8443, [::1]:80', ALLOWED_ORIGINS: 'https://console.acme.example,' });
    expect(config.ALLOWED_HOSTS).toEqual(['mcp.internal:8443', '[::1]:80']);
    expect(config.ALLOWED_ORIGINS).toEqual(['https://console.acme.example']);
    expect(() => loadEdgeProxyConfig({ NATS_URL: 'nats://n', SESSION_KEYS, ALLOWED_HOSTS: 'evil.com/path' })).toThrow(/ALLOWED_HOSTS/);
    expect(() => loadEdgeProxyConfig({ NATS_URL: 'nats://n', SESSION_KEYS, ALLOWED_ORIGINS: 'javascript:alert(1)' })).toThrow(/ALLOWED_ORIGINS/);
  });

  it('reads SESSION_MAX_AGE in seconds or with a unit (default a day), and refuses a nonsense or out-of-range one', () => {
    expect(DEFAULT_SESSION_MAX_AGE_SECONDS).toBe(86_400);
    const maxAge = (SESSION_MAX_AGE: string) => loadEdgeProxyConfig({ NATS_URL: 'nats://n', SESSION_KEYS, SESSION_MAX_AGE }).SESSION_MAX_AGE;
    expect(maxAge('3600')).toBe(3600);
    expect(maxAge('90m')).toBe(5400);
    expect(maxAge('12h')).toBe(43_200);
    expect(maxAge('7d')).toBe(604_800);
    expect(maxAge('')).toBe(DEFAULT_SESSION_MAX_AGE_SECONDS);
    for (const bad of ['1 day', '-5', '10', '31d', '1.5h']) expect(() => maxAge(bad)).toThrow(/SESSION_MAX_AGE/);
  });

  it('keeps the connect-time SSRF guard on unless OUTBOUND_ALLOW_PRIVATE is exactly true', () => {
    expect(loadEdgeProxyConfig({ NATS_URL: 'nats://n', SESSION_KEYS, OUTBOUND_ALLOW_PRIVATE: 'true' }).OUTBOUND_ALLOW_PRIVATE).toBe(true);
    expect(() => loadEdgeProxyConfig({ NATS_URL: 'nats://n', SESSION_KEYS, OUTBOUND_ALLOW_PRIVATE: 'yes' })).toThrow(/OUTBOUND_ALLOW_PRIVATE/);
  });

  it('takes the audit spool folder, leaving the default (<tmpdir>/portcullis-spool) to the module when unset or empty', () => {
    expect(loadEdgeProxyConfig({ NATS_URL: 'nats://n', SESSION_KEYS, AUDIT_SPOOL_DIR: '/var/spool/portcullis' }).AUDIT_SPOOL_DIR).toBe('/var/spool/portcullis');
    expect(loadEdgeProxyConfig({ NATS_URL: 'nats://n', SESSION_KEYS, AUDIT_SPOOL_DIR: '' }).AUDIT_SPOOL_DIR).toBeUndefined();
  });

  it('takes the audit batch linger in whole milliseconds from 0 to 1000, leaving the default to the batcher when unset', () => {
    const linger = (value: string) => loadEdgeProxyConfig({ NATS_URL: 'nats://n', SESSION_KEYS, AUDIT_BATCH_LINGER_MS: value }).AUDIT_BATCH_LINGER_MS;
    expect(linger('0')).toBe(0);
    expect(linger('100')).toBe(100);
    expect(linger('')).toBeUndefined();
    for (const bad of ['-1', '1001', '2.5', 'soon']) expect(() => linger(bad)).toThrow(/AUDIT_BATCH_LINGER_MS/);
  });

  it('derives the default public URL from the port and trims a trailing slash from a given one', () => {
    expect(loadEdgeProxyConfig({ NATS_URL: 'nats://n', SESSION_KEYS, EDGE_PORT: '9000' }).PUBLIC_URL).toBe('http://localhost:9000');
    expect(loadEdgeProxyConfig({ NATS_URL: 'nats://n', SESSION_KEYS, PUBLIC_URL: 'https://gw.example.com/' }).PUBLIC_URL).toBe('https://gw.example.com');
  });

  it('reads SESSION_KEYS as a keyring whose first key seals', () => {
    const older = `s0:${randomBytes(32).toString('base64')}`;
    const { SESSION_KEYS: ring } = loadEdgeProxyConfig({ NATS_URL: 'nats://n', SESSION_KEYS: `${SESSION_KEYS},${older}` });
    expect(ring.activeKid).toBe('s1');
    expect(ring.kids).toEqual(['s1', 's0']);
  });

  it('stops at start without SESSION_KEYS, or with a bad one, never echoing key material', () => {
    expect(() => loadEdgeProxyConfig({ NATS_URL: 'nats://n' })).toThrow(/SESSION_KEYS/);
    const short = `s1:${randomBytes(16).toString('base64')}`;
    try {
      loadEdgeProxyConfig({ NATS_URL: 'nats://n', SESSION_KEYS: short });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('SESSION_KEYS');
      expect((error as Error).message).not.toContain(short.slice(3));
    }
  });

  it('rejects a missing NATS_URL and a bad PUBLIC_URL in one line', () => {
    expect.assertions(4);
    expect(() => loadEdgeProxyConfig({ PUBLIC_URL: 'ftp://x' })).toThrow(ConfigError);
    try {
      loadEdgeProxyConfig({ PUBLIC_URL: 'ftp://x', MAX_REQUEST_BYTES: '-1' });
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
      expect((error as Error).message).toMatch(/NATS_URL.*PUBLIC_URL|PUBLIC_URL.*NATS_URL/);
      expect((error as Error).message).toContain('MAX_REQUEST_BYTES');
    }
  });
});
