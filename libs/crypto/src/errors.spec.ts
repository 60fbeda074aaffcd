import { CryptoError, DecryptionError, KeyringConfigError, UnknownKeyError } from './errors';

describe(CryptoError.name, () => {
  it('gives each failure a stable code, its class name and an optional cause', () => {
    const cause = new Error('bad tag');
    const cases: Array<[CryptoError, string, string]> = [
      [new KeyringConfigError('x'), 'ERR_KEYRING_CONFIG', 'KeyringConfigError'],
      [new DecryptionError('x', { cause }), 'ERR_DECRYPTION_FAILED', 'DecryptionError'],
      [new UnknownKeyError('k9'), 'ERR_UNKNOWN_KEY', 'UnknownKeyError'],
    ];
    for (const [error, code, name] of cases) {
      expect(error).toBeInstanceOf(CryptoError);
      expect(error.code).toBe(code);
      expect(error.name).toBe(name);
    }
    expect(cases[1]![0].cause).toBe(cause);
  });

  it('makes an unknown key a DecryptionError, so one catch covers "did not open"', () => {
    const error = new UnknownKeyError('k9');
    expect(error).toBeInstanceOf(DecryptionError);
    expect(error.kid).toBe('k9');
  });
});
