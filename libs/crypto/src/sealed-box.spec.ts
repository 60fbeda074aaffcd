import { DecryptionError, UnknownKeyError } from './errors';
import { Keyring } from './keyring';
import { SealedBox } from './sealed-box';

const PURPOSE = 'mcp-session';

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

describe(SealedBox.name, () => {
  const ring = Keyring.generate('s1');
  const box = new SealedBox(ring);
  const session = { sid: 'abc', principal: 'alice', exp: 1_900_000_000 };

  describe('seal', () => {
    it('round-trips JSON values as URL-safe tokens', () => {
      const token = box.seal(session, PURPOSE);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(box.open(token, PURPOSE)).toEqual(session);
      expect(box.open(box.seal('plain', PURPOSE), PURPOSE)).toBe('plain');
      expect(box.open(box.seal(null, PURPOSE), PURPOSE)).toBeNull();
    });

    it('uses a fresh iv each time and hides the content', () => {
      const a = box.seal(session, PURPOSE);
      expect(a).not.toBe(box.seal(session, PURPOSE));
      expect(Buffer.from(a, 'base64url').toString('latin1')).not.toContain('alice');
    });

    it('refuses values JSON cannot carry', () => {
      expect(() => box.seal(undefined, PURPOSE)).toThrow(TypeError);
      expect(() => box.seal(session, '')).toThrow(TypeError);
    });
  });

  describe('open', () => {
    const token = box.seal(session, PURPOSE);

    it('rejects a token sealed for another purpose', () => {
      expectDecryptionError(() => box.open(token, 'oauth-state'));
    });

    it('rejects a token with any single byte changed', () => {
      const bytes = Buffer.from(token, 'base64url');
      for (let i = 0; i < bytes.length; i++) {
        const copy = Buffer.from(bytes);
        copy[i] = copy[i]! ^ 0x01;
        expect(() => box.open(copy.toString('base64url'), PURPOSE)).toThrow(DecryptionError);
      }
    });

    it('rejects truncated, extended and non-base64url tokens', () => {
      expectDecryptionError(() => box.open(token.slice(0, -4), PURPOSE));
      expectDecryptionError(() => box.open(`${token}AAAA`, PURPOSE));
      expectDecryptionError(() => box.open(`${token}!`, PURPOSE));
      expectDecryptionError(() => box.open('', PURPOSE));
    });

    it('rejects a token from a ring that does not hold its key', () => {
      const foreign = new SealedBox(Keyring.generate('other')).seal(session, PURPOSE);
      expectDecryptionError(() => box.open(foreign, PURPOSE), 'ERR_UNKNOWN_KEY');
      expect(() => box.open(foreign, PURPOSE)).toThrow(UnknownKeyError);
    });

    it('rejects a token sealed by a different key under the same kid', () => {
      const impostor = new SealedBox(Keyring.generate('s1')).seal(session, PURPOSE);
      expectDecryptionError(() => box.open(impostor, PURPOSE));
    });
  });

  describe('rotation', () => {
    it('opens tokens sealed before a rotation and seals new ones under the new key', () => {
      const old = box.seal(session, PURPOSE);
      const rotated = new SealedBox(ring.rotate('s2'));
      expect(rotated.open(old, PURPOSE)).toEqual(session);
      const fresh = rotated.seal(session, PURPOSE);
      expectDecryptionError(() => box.open(fresh, PURPOSE), 'ERR_UNKNOWN_KEY');
    });
  });
});
