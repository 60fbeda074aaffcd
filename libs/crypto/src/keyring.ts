import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { KeyringConfigError } from './errors';

/** Every keyring key is a 256-bit AES key. */
export const KEY_BYTES = 32;
const KID = /^[A-Za-z0-9_-]{1,32}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+)$/;

// Key bytes live outside the instance so that no property, spread, JSON or
// inspect of a Keyring can reach them; only this library's ciphers read them.
const material = new WeakMap<Keyring, ReadonlyMap<string, Buffer>>();

/**
 * Ordered key-encryption keys, the first active: `VAULT_KEYS=kid1:base64,kid2:base64`.
 * Rotation: put a new key first, re-wrap everything, then drop the old key.
 */
export class Keyring {
  readonly activeKid: string;
  readonly kids: readonly string[];

  private constructor(entries: ReadonlyArray<readonly [string, Buffer]>) {
    const [first] = entries;
    if (!first) throw new TypeError('a keyring needs at least one key');
    this.activeKid = first[0];
    this.kids = Object.freeze(entries.map(([kid]) => kid));
    material.set(this, new Map(entries));
  }

  /**
   * Parses `kid:base64[,kid:base64...]`. Each key is exactly 32 bytes (standard
   * or URL-safe base64), each kid `[A-Za-z0-9_-]{1,32}` and unique. Errors name
   * the entry by position, never by its kid or key. `label` (e.g. `VAULT_KEYS`)
   * prefixes the message.
   */
  static parse(spec: string, label = 'keyring'): Keyring {
    if (typeof spec !== 'string') throw new TypeError('keyring spec must be a string');
    if (spec.trim() === '') {
      throw new KeyringConfigError(`${label} is empty; expected kid:base64key[,kid:base64key...]`);
    }
    const problems: string[] = [];
    const entries: Array<[string, Buffer]> = [];
    spec.split(',').forEach((raw, index) => {
      const entry = raw.trim();
      const where = `${label} entry ${index + 1}`;
      const colon = entry.indexOf(':');
      if (colon < 0) {
        problems.push(`${where} is not kid:base64key`);
        return;
      }
      const kid = entry.slice(0, colon).trim();
      const encoded = entry.slice(colon + 1).trim();
      if (!KID.test(kid)) {
        problems.push(`${where} has an invalid key id (expected 1-32 of A-Z a-z 0-9 _ -)`);
        return;
      }
      // Entries are named by position only: a misplaced separator can make key bytes look like a kid.
      const named = where;
      if (entries.some(([seen]) => seen === kid)) {
        problems.push(`${named} repeats a key id`);
        return;
      }
      if (!BASE64.test(encoded)) {
        problems.push(`${named} is not valid base64`);
        return;
      }
      // Node's base64 decoder reads the URL-safe alphabet too.
      const key = Buffer.from(encoded, 'base64');
      if (key.length !== KEY_BYTES) {
        problems.push(`${named} must be ${KEY_BYTES} bytes, got ${key.length}`);
        return;
      }
      entries.push([kid, key]);
    });
    if (problems.length > 0) throw new KeyringConfigError(problems.join('; '));
    return new Keyring(entries);
  }

  /** A one-key ring with a fresh random key, e.g. for all-in-one's first start. */
  static generate(kid: string): Keyring {
    assertKid(kid);
    return new Keyring([[kid, randomBytes(KEY_BYTES)]]);
  }

  /** A new ring whose active key is a fresh random `kid`, keeping every current key for decryption. */
  rotate(kid: string): Keyring {
    assertKid(kid);
    if (this.has(kid)) throw new TypeError(`key id "${kid}" is already in the keyring`);
    return new Keyring([[kid, randomBytes(KEY_BYTES)], ...this.entries()]);
  }

  /** A new ring without `kid`, once nothing is sealed under it any more. The active key cannot be retired. */
  retire(kid: string): Keyring {
    if (kid === this.activeKid) throw new TypeError('the active key cannot be retired');
    if (!this.has(kid)) throw new TypeError(`key id "${kid}" is not in the keyring`);
    return new Keyring(this.entries().filter(([id]) => id !== kid));
  }

  has(kid: string): boolean {
    return this.kids.includes(kid);
  }

  /** The `kid:base64` form `parse` reads, for a 0600 key file. Contains key material. */
  toString(): string {
    return this.entries()
      .map(([kid, key]) => `${kid}:${key.toString('base64')}`)
      .join(',');
  }

  /** Loggable: key ids only. */
  toJSON(): { activeKid: string; kids: readonly string[] } {
    return { activeKid: this.activeKid, kids: this.kids };
  }

  [inspect.custom](): string {
    return `Keyring { activeKid: '${this.activeKid}', kids: [${this.kids.map((kid) => `'${kid}'`).join(', ')}] }`;
  }

  private entries(): Array<readonly [string, Buffer]> {
    return [...(material.get(this) ?? new Map<string, Buffer>())];
  }
}

/**
 * Library-internal: the key for `kid`, or undefined. Not exported from the
 * package index, so applications never hold raw keys.
 */
export function keyMaterial(keyring: Keyring, kid: string): Buffer | undefined {
  return material.get(keyring)?.get(kid);
}

export function isValidKid(kid: string): boolean {
  return KID.test(kid);
}

function assertKid(kid: string): void {
  if (typeof kid !== 'string' || !KID.test(kid)) {
    throw new TypeError('key id must be 1-32 characters of A-Z a-z 0-9 _ -');
  }
}
