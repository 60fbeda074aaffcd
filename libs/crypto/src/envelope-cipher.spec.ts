import { DecryptionError, UnknownKeyError } from './errors';
import { EnvelopeCipher } from './envelope-cipher';
import { Keyring } from './keyring';

const AAD = 'credential:7f1c|principal:alice|server:github';

function expectDecryptionError(run: () => unknown, code = 'ERR_DECRYPTION_FAILED'): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DecryptionError);
    expect((error as DecryptionError).code).toBe(code);
    return;
  }
  throw new Error('expected a DecryptionError');
}

/** Replaces one character in the middle of part `index` with a different base64url character. */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const part = parts[index]!;
  const at = Math.floor(part.length / 2);
  parts[index] = part.slice(0, at) + (part[at] === 'A' ? 'B' : 'A') + part.slice(at + 1);
  return parts.join('.');
}

describe(EnvelopeCipher.name, () => {
  const ring = Keyring.generate('k1');
  const cipher = new EnvelopeCipher(ring);

  describe('encrypt', () => {
    it('round-trips unicode and empty plaintexts', () => {
      for (const plaintext of ['gho_abc123', '', 'ключ 🔑']) {
        expect(cipher.decrypt(cipher.encrypt(plaintext, AAD), AAD)).toBe(plaintext);
      }
    });

    it('produces a versioned, self-describing value with a fresh data key each time', () => {
      const a = cipher.encrypt('same', AAD);
      const b = cipher.encrypt('same', AAD);
      expect(a).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{80}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
      expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
      expect(a.split('.')[4]).not.toBe(b.split('.')[4]);
    });

    it('does not contain the plaintext', () => {
      expect(cipher.encrypt('super-secret-token', AAD)).not.toContain('super-secret-token');
    });

    it('refuses empty associated data (a secret bound to nothing)', () => {
      expect(() => cipher.encrypt('x', '')).toThrow(TypeError);
    });
  });

  describe('decrypt', () => {
    const sealed = cipher.encrypt('refresh-token', AAD);

    it('rejects a ciphertext copied to another row (different associated data)', () => {
      expectDecryptionError(() => cipher.decrypt(sealed, 'credential:other|principal:alice|server:github'));
    });

    it.each([
      [2, 'wrapped key'],
      [3, 'iv'],
      [4, 'ciphertext'],
    ])('rejects a value whose part %i (%s) was tampered with', (index) => {
      expectDecryptionError(() => cipher.decrypt(tamper(sealed, index), AAD));
    });

    it('rejects a value whose kid was swapped for another key in the ring', () => {
      const rotated = new EnvelopeCipher(ring.rotate('k2'));
      expectDecryptionError(() => rotated.decrypt(sealed.replace(/^v1\.k1\./, 'v1.k2.'), AAD));
    });

    it('rejects an unknown version', () => {
      expectDecryptionError(() => cipher.decrypt(sealed.replace(/^v1\./, 'v2.'), AAD));
    });

    it('rejects non-canonical base64url that decodes to the same bytes', () => {
      expectDecryptionError(() => cipher.decrypt(`${sealed}=`, AAD));
      expectDecryptionError(() => cipher.decrypt(sealed.replace(/\.([^.]+)$/, '.$1 '), AAD));
    });

    it('rejects truncated and malformed values', () => {
      expectDecryptionError(() => cipher.decrypt(sealed.split('.').slice(0, 4).join('.'), AAD));
      expectDecryptionError(() => cipher.decrypt(`${sealed}.extra`, AAD));
      expectDecryptionError(() => cipher.decrypt('', AAD));
      expectDecryptionError(() => cipher.decrypt(sealed.replace(/^v1\.k1\./, 'v1.bad kid.'), AAD));
    });

    it('rejects a value sealed under a key the ring does not hold, naming the kid', () => {
      const other = new EnvelopeCipher(Keyring.generate('elsewhere'));
      const foreign = other.encrypt('x', AAD);
      expectDecryptionError(() => cipher.decrypt(foreign, AAD), 'ERR_UNKNOWN_KEY');
      expect(() => cipher.decrypt(foreign, AAD)).toThrow(UnknownKeyError);
    });

    it('rejects a value sealed under a different key with the same kid', () => {
      const impostor = new EnvelopeCipher(Keyring.generate('k1'));
      expectDecryptionError(() => cipher.decrypt(impostor.encrypt('x', AAD), AAD));
    });
  });

  describe('rotation', () => {
    const ringA = Keyring.generate('old');
    const ringB = ringA.rotate('new');
    const before = new EnvelopeCipher(ringA).encrypt('client-secret', AAD);
    const after = new EnvelopeCipher(ringB);

    it('decrypts values wrapped by an older key of the ring', () => {
      expect(after.needsRewrap(before)).toBe(true);
      expect(after.decrypt(before, AAD)).toBe('client-secret');
    });

    it('rewraps the data key under the active key without touching the ciphertext', () => {
      const rewrapped = after.rewrap(before, AAD);
      expect(rewrapped.split('.')[1]).toBe('new');
      expect(rewrapped.split('.').slice(3)).toEqual(before.split('.').slice(3));
      expect(after.needsRewrap(rewrapped)).toBe(false);
      expect(after.decrypt(rewrapped, AAD)).toBe('client-secret');
      expect(new EnvelopeCipher(ringB.retire('old')).decrypt(rewrapped, AAD)).toBe('client-secret');
    });

    it('returns an already current value unchanged', () => {
      const current = after.encrypt('x', AAD);
      expect(after.rewrap(current, AAD)).toBe(current);
    });

    it('refuses to rewrap a value for another row', () => {
      expectDecryptionError(() => after.rewrap(before, 'credential:other'));
    });
  });
});
