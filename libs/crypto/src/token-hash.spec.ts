import { createHash } from 'node:crypto';
import { constantTimeEqual, generateToken, hashToken, tokenPrefix } from './token-hash';

describe('token-hash', () => {
  describe(hashToken.name, () => {
    it('is the SHA-256 hex of the token', () => {
      expect(hashToken('pcl_abc')).toBe(createHash('sha256').update('pcl_abc').digest('hex'));
      expect(hashToken('pcl_abc')).toMatch(/^[0-9a-f]{64}$/);
    });

    it('hashes the UTF-8 bytes of a non-ASCII token like createHash does', () => {
      expect(hashToken('pcl_é€😀')).toBe(createHash('sha256').update('pcl_é€😀', 'utf8').digest('hex'));
    });
  });

  describe(constantTimeEqual.name, () => {
    it('tells equal from different strings, including different lengths', () => {
      expect(constantTimeEqual('abc', 'abc')).toBe(true);
      expect(constantTimeEqual('', '')).toBe(true);
      expect(constantTimeEqual('abc', 'abd')).toBe(false);
      expect(constantTimeEqual('abc', 'abcd')).toBe(false);
      expect(constantTimeEqual('', 'a')).toBe(false);
    });

    it('does not throw on different lengths (timingSafeEqual would), so length does not leak through an error path', () => {
      expect(() => constantTimeEqual('a'.repeat(3), 'b'.repeat(300))).not.toThrow();
    });
  });

  describe(generateToken.name, () => {
    it('makes <scheme>_<8 alphanumerics>_<256-bit base64url secret> tokens', () => {
      const { token, prefix, hash } = generateToken('pcl');
      expect(token).toMatch(/^pcl_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token.slice(prefix.length + 1), 'base64url')).toHaveLength(32);
      expect(token.startsWith(`${prefix}_`)).toBe(true);
      expect(prefix).toMatch(/^pcl_[A-Za-z0-9]{8}$/);
      expect(hash).toBe(hashToken(token));
    });

    it('never repeats a token or a secret', () => {
      const tokens = Array.from({ length: 500 }, () => generateToken('pcl').token);
      expect(new Set(tokens).size).toBe(tokens.length);
      expect(new Set(tokens.map((t) => t.slice(13))).size).toBe(tokens.length);
    });

    it('rejects a scheme that would make the token ambiguous', () => {
      expect(() => generateToken('pc_l')).toThrow(TypeError);
      expect(() => generateToken('')).toThrow(TypeError);
      expect(() => generateToken('PCL')).toThrow(TypeError);
    });
  });

  describe(tokenPrefix.name, () => {
    it('recovers the display prefix of a presented token', () => {
      const generated = generateToken('pcl');
      expect(tokenPrefix(generated.token)).toBe(generated.prefix);
    });

    it('returns undefined for strings not shaped like a token', () => {
      expect(tokenPrefix('eyJhbGciOi.x.y')).toBeUndefined();
      expect(tokenPrefix('pcl_short_secret')).toBeUndefined();
      expect(tokenPrefix('pcl_ABCDEFGH_')).toBeUndefined();
    });
  });
});
