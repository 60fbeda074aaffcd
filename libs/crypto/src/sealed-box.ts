import { hkdfSync } from 'node:crypto';
import { decodeBase64url, gcmDecrypt, gcmEncrypt, IV_BYTES, TAG_BYTES } from './aes-gcm';
import { DecryptionError, UnknownKeyError } from './errors';
import { isValidKid, KEY_BYTES, Keyring, keyMaterial } from './keyring';

const VERSION = 1;

/**
 * Seals small JSON values into opaque, URL-safe tokens (sealed MCP session
 * ids): AES-256-GCM under a key derived by HKDF-SHA256 from a keyring key and
 * the `purpose`, so a token sealed for one purpose never opens for another.
 * Token: base64url(version || kid length || kid || iv || ciphertext || tag);
 * the header is authenticated as associated data. Opening looks the embedded
 * kid up in the whole ring, so tokens sealed before a rotation still open.
 */
export class SealedBox {
  private readonly derived = new Map<string, Buffer>();

  constructor(private readonly keyring: Keyring) {
    if (!(keyring instanceof Keyring)) throw new TypeError('SealedBox needs a Keyring');
  }

  seal(value: unknown, purpose: string): string {
    assertPurpose(purpose);
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError('value must be JSON-serializable');
    const kid = this.keyring.activeKid;
    const header = Buffer.concat([Buffer.of(VERSION, kid.length), Buffer.from(kid, 'ascii')]);
    const { iv, sealed } = gcmEncrypt(this.key(kid, purpose), Buffer.from(json, 'utf8'), header);
    return Buffer.concat([header, iv, sealed]).toString('base64url');
  }

  /** Throws DecryptionError (UnknownKeyError for a kid not in the ring) unless the token is intact and for `purpose`. */
  open(token: string, purpose: string): unknown {
    assertPurpose(purpose);
    if (typeof token !== 'string') throw new TypeError('token must be a string');
    const bytes = decodeBase64url(token, 'sealed token');
    const kidLength = bytes[1] ?? 0;
    const headerLength = 2 + kidLength;
    if (bytes[0] !== VERSION || bytes.length < headerLength + IV_BYTES + TAG_BYTES) {
      throw new DecryptionError('malformed sealed token');
    }
    const kid = bytes.subarray(2, headerLength).toString('ascii');
    if (!isValidKid(kid)) throw new DecryptionError('malformed sealed token');
    const plaintext = gcmDecrypt(
      this.key(kid, purpose),
      bytes.subarray(headerLength, headerLength + IV_BYTES),
      bytes.subarray(headerLength + IV_BYTES),
      bytes.subarray(0, headerLength),
    );
    try {
      return JSON.parse(plaintext.toString('utf8')) as unknown;
    } catch (error) {
      throw new DecryptionError('sealed token holds no JSON', { cause: error });
    }
  }

  private key(kid: string, purpose: string): Buffer {
    const cacheKey = `${kid}\0${purpose}`;
    let key = this.derived.get(cacheKey);
    if (!key) {
      const master = keyMaterial(this.keyring, kid);
      if (!master) throw new UnknownKeyError(kid);
      key = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `portcullis/sealed-box/v${VERSION}\0${purpose}`, KEY_BYTES));
      this.derived.set(cacheKey, key);
    }
    return key;
  }
}

function assertPurpose(purpose: string): void {
  if (typeof purpose !== 'string' || purpose === '') throw new TypeError('purpose must be a non-empty string');
}
