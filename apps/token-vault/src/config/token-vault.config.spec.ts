import { randomBytes } from 'node:crypto';
import { ConfigError, exitOnConfigError } from '@portcullis/telemetry';
import { loadTokenVaultConfig } from './token-vault.config';

const validEnv = (overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => ({
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/portcullis',
  NATS_URL: 'nats://127.0.0.1:4222',
  VAULT_KEYS: `k2:${randomBytes(32).toString('base64')},k1:${randomBytes(32).toString('base64url')}`,
  ...overrides,
});

function configErrorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadTokenVaultConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadTokenVaultConfig', () => {
  it('parses VAULT_KEYS into a keyring whose first key is active, with defaults for the rest', () => {
    const config = loadTokenVaultConfig(validEnv());
    expect(config.VAULT_KEYS.activeKid).toBe('k2');
    expect(config.VAULT_KEYS.kids).toEqual(['k2', 'k1']);
    expect(config).toMatchObject({ VAULT_PORT: 8084, HOST: '0.0.0.0', LOG_LEVEL: 'info' });
  });

  it('takes PUBLIC_URL (optional, no trailing slash) and OUTBOUND_ALLOW_PRIVATE for upstream OAuth', () => {
    const defaults = loadTokenVaultConfig(validEnv());
    expect(defaults.PUBLIC_URL).toBeUndefined();
    expect(defaults.OUTBOUND_ALLOW_PRIVATE).toBe(false);
    expect(loadTokenVaultConfig(validEnv({ PUBLIC_URL: 'https://gw.example/', OUTBOUND_ALLOW_PRIVATE: 'true' }))).toMatchObject({
      PUBLIC_URL: 'https://gw.example',
      OUTBOUND_ALLOW_PRIVATE: true,
    });
    expect(configErrorOf(validEnv({ PUBLIC_URL: 'ftp://gw.example' })).message).toContain('PUBLIC_URL');
    expect(configErrorOf(validEnv({ OUTBOUND_ALLOW_PRIVATE: 'yes' })).message).toContain('OUTBOUND_ALLOW_PRIVATE');
  });

  it('rejects a key of the wrong length in one line that never echoes the key', () => {
    const shortKey = randomBytes(16).toString('base64');
    const error = configErrorOf(validEnv({ VAULT_KEYS: `k1:${shortKey}` }));
    expect(error.message).toMatch(/^token-vault: invalid configuration: VAULT_KEYS is invalid/);
    expect(error.message).toContain('VAULT_KEYS entry 1 must be 32 bytes, got 16');
    expect(error.message).not.toContain(shortKey);
    expect(error.message).not.toContain('\n');
  });

  it('never echoes key material when the separator is misplaced', () => {
    // A key whose first characters also make a valid key id, the case a naive message would quote.
    let key = randomBytes(32).toString('base64');
    while (!/^[A-Za-z0-9]{10}/.test(key)) key = randomBytes(32).toString('base64');
    const spec = `${key.slice(0, 10)}:${key.slice(10)}`;
    const error = configErrorOf(validEnv({ VAULT_KEYS: spec }));
    expect(error.message).not.toContain(key.slice(0, 10));
    expect(error.message).not.toContain(key.slice(10));
  });

  it('names a missing VAULT_KEYS as missing', () => {
    expect(configErrorOf(validEnv({ VAULT_KEYS: undefined })).message).toContain('VAULT_KEYS is missing');
  });

  it('stops the service with that one line on stderr and exit code 1', () => {
    const key = randomBytes(20).toString('base64');
    const written: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const exit = jest.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      throw new Error(`exit ${code}`);
    }) as typeof process.exit);
    try {
      expect(() => exitOnConfigError(configErrorOf(validEnv({ VAULT_KEYS: `main:${key}` })), 'token-vault')).toThrow('exit 1');
    } finally {
      write.mockRestore();
      exit.mockRestore();
    }
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^token-vault: invalid configuration: VAULT_KEYS is invalid \(.*\)\n$/);
    expect(written[0]).not.toContain(key);
  });
});
