import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { KeyringConfigError } from './errors';
import { Keyring } from './keyring';

const key = (bytes = 32): string => randomBytes(bytes).toString('base64');

function parseError(spec: string): KeyringConfigError {
  try {
    Keyring.parse(spec, 'VAULT_KEYS');
  } catch (error) {
    expect(error).toBeInstanceOf(KeyringConfigError);
    return error as KeyringConfigError;
  }
  throw new Error('expected Keyring.parse to throw');
}

describe(Keyring.name, () => {
  describe('parse', () => {
    it('reads kid:base64 entries in order, the first active', () => {
      const ring = Keyring.parse(` k2:${key()} ,k1:${key()}`);
      expect(ring.activeKid).toBe('k2');
      expect(ring.kids).toEqual(['k2', 'k1']);
      expect(ring.has('k1')).toBe(true);
      expect(ring.has('k3')).toBe(false);
    });

    it('accepts URL-safe base64 keys', () => {
      const urlSafe = randomBytes(32).toString('base64url');
      expect(Keyring.parse(`k1:${urlSafe}`).kids).toEqual(['k1']);
    });

    it('round-trips through toString', () => {
      const spec = `a:${key()},b-2_x:${key()}`;
      expect(Keyring.parse(spec).toString()).toBe(spec);
    });

    it('rejects an empty spec', () => {
      const error = parseError('  ');
      expect(error.code).toBe('ERR_KEYRING_CONFIG');
      expect(error.message).toMatch(/VAULT_KEYS is empty/);
    });

    it('rejects a key of the wrong length without echoing it', () => {
      const short = key(16);
      const error = parseError(`k1:${key()},k2:${short}`);
      expect(error.message).toMatch(/entry 2 must be 32 bytes, got 16/);
      expect(error.message).not.toContain(short);
    });

    it('rejects a key that is not base64 without echoing it', () => {
      const bad = `${key().slice(0, 20)}!*${key().slice(0, 20)}`;
      const error = parseError(`k1:${bad}`);
      expect(error.message).toMatch(/entry 1 is not valid base64/);
      expect(error.message).not.toContain(bad);
    });

    it('rejects a duplicate kid', () => {
      const error = parseError(`k1:${key()},k1:${key()}`);
      expect(error.message).toMatch(/entry 2 repeats a key id/);
    });

    it('rejects an entry without a kid separator without echoing it (it may be a bare key)', () => {
      const bare = key();
      const error = parseError(bare);
      expect(error.message).toMatch(/entry 1 is not kid:base64key/);
      expect(error.message).not.toContain(bare);
    });

    it('rejects an invalid kid without quoting it (a misplaced separator could put key bytes there)', () => {
      const material = key();
      const error = parseError(`${material}:k1`);
      expect(error.message).toMatch(/entry 1 has an invalid key id/);
      expect(error.message).not.toContain(material.slice(0, 10));
    });

    it('rejects an empty entry such as a trailing comma', () => {
      expect(parseError(`k1:${key()},`).message).toMatch(/entry 2 is not kid:base64key/);
    });

    it('reports every bad entry in one message', () => {
      const error = parseError(`k1:${key(8)},k2:${key(40)}`);
      expect(error.message).toMatch(/entry 1 .* got 8; .*entry 2 .* got 40/);
    });
  });

  describe('generate', () => {
    it('creates a one-key ring with a fresh 32-byte key', () => {
      const a = Keyring.generate('k1');
      const b = Keyring.generate('k1');
      expect(a.kids).toEqual(['k1']);
      expect(Buffer.from(a.toString().split(':')[1]!, 'base64')).toHaveLength(32);
      expect(a.toString()).not.toBe(b.toString());
      expect(Keyring.parse(a.toString()).toString()).toBe(a.toString());
    });

    it('rejects an invalid kid', () => {
      expect(() => Keyring.generate('no spaces')).toThrow(TypeError);
    });
  });

  describe('rotate and retire', () => {
    it('puts a new active key first and keeps the old ones', () => {
      const ring = Keyring.generate('k1').rotate('k2');
      expect(ring.activeKid).toBe('k2');
      expect(ring.kids).toEqual(['k2', 'k1']);
      expect(() => ring.rotate('k1')).toThrow(TypeError);
    });

    it('drops a retired key but never the active one', () => {
      const ring = Keyring.generate('k1').rotate('k2');
      expect(ring.retire('k1').kids).toEqual(['k2']);
      expect(() => ring.retire('k2')).toThrow(TypeError);
    });
  });

  describe('logging', () => {
    it('keeps key material out of JSON and inspect output', () => {
      const ring = Keyring.generate('k1').rotate('k2');
      const secrets = ring
        .toString()
        .split(',')
        .map((entry) => entry.split(':')[1]!);
      const shown = `${JSON.stringify({ ring })} ${inspect(ring)} ${JSON.stringify(Object.entries(ring))}`;
      expect(shown).toContain('k2');
      for (const secret of secrets) expect(shown).not.toContain(secret);
    });
  });
});
