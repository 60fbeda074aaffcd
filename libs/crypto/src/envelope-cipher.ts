import { randomBytes } from 'node:crypto';
import { decodeBase64url, gcmDecrypt, gcmEncrypt, IV_BYTES, TAG_BYTES } from './aes-gcm';
import { DecryptionError, UnknownKeyError } from './errors';
import { isValidKid, KEY_BYTES, Keyring, keyMaterial } from './keyring';

const VERSION = 'v1';
const WRAPPED_BYTES = IV_BYTES + KEY_BYTES + TAG_BYTES;

interface Envelope {
  kid: string;
  /** wrap iv || wrapped data key || wrap tag */
  wrapped: Buffer;
  iv: Buffer;
  /** ciphertext || tag */
  sealed: Buffer;
}

/**
 * Envelope encryption for stored secrets (DESIGN §10). Each secret gets its
 * own random 256-bit data key (AES-256-GCM); the data key is wrapped by the
 * keyring's active key. Both layers authenticate `associatedData` (the row's
 * identity, e.g. credential id + principal + server), so a ciphertext copied
 * to another row does not decrypt there. Output:
 * `v1.<kid>.<b64url wrapIv+wrappedKey+wrapTag>.<b64url iv>.<b64url ciphertext+tag>`.
 */
export class EnvelopeCipher {
  constructor(private readonly keyring: Keyring) {
    if (!(keyring instanceof Keyring)) throw new TypeError('EnvelopeCipher needs a Keyring');
  }

  encrypt(plaintext: string, associatedData: string): string {
    if (typeof plaintext !== 'string') throw new TypeError('plaintext must be a string');
    assertAssociatedData(associatedData);
    const dataKey = randomBytes(KEY_BYTES);
    try {
      const { iv, sealed } = gcmEncrypt(dataKey, Buffer.from(plaintext, 'utf8'), dataAad(associatedData));
      return format({ ...this.wrap(dataKey, associatedData), iv, sealed });
    } finally {
      dataKey.fill(0);
    }
  }

  /** Throws DecryptionError (UnknownKeyError for a retired kid) on any mismatch. */
  decrypt(sealedValue: string, associatedData: string): string {
    assertAssociatedData(associatedData);
    const envelope = parse(sealedValue);
    const dataKey = this.unwrap(envelope, associatedData);
    try {
      return gcmDecrypt(dataKey, envelope.iv, envelope.sealed, dataAad(associatedData)).toString('utf8');
    } finally {
      dataKey.fill(0);
    }
  }

  /**
   * Re-wraps the data key under the active key, leaving the ciphertext as is
   * (key rotation). Unwrapping authenticates the associated data, so a value
   * cannot be re-wrapped for another row. Already current → returned unchanged.
   */
  rewrap(sealedValue: string, associatedData: string): string {
    assertAssociatedData(associatedData);
    const envelope = parse(sealedValue);
    const dataKey = this.unwrap(envelope, associatedData);
    try {
      if (envelope.kid === this.keyring.activeKid) return sealedValue;
      return format({ ...envelope, ...this.wrap(dataKey, associatedData) });
    } finally {
      dataKey.fill(0);
    }
  }

  /** True when the value is wrapped by a key other than the active one. */
  needsRewrap(sealedValue: string): boolean {
    return parse(sealedValue).kid !== this.keyring.activeKid;
  }

  private wrap(dataKey: Buffer, associatedData: string): Pick<Envelope, 'kid' | 'wrapped'> {
    const kid = this.keyring.activeKid;
    const { iv, sealed } = gcmEncrypt(this.key(kid), dataKey, wrapAad(kid, associatedData));
    return { kid, wrapped: Buffer.concat([iv, sealed]) };
  }

  private unwrap(envelope: Envelope, associatedData: string): Buffer {
    const { kid, wrapped } = envelope;
    const dataKey = gcmDecrypt(
      this.key(kid),
      wrapped.subarray(0, IV_BYTES),
      wrapped.subarray(IV_BYTES),
      wrapAad(kid, associatedData),
    );
    if (dataKey.length !== KEY_BYTES) throw new DecryptionError('malformed data key');
    return dataKey;
  }

  private key(kid: string): Buffer {
    const key = keyMaterial(this.keyring, kid);
    if (!key) throw new UnknownKeyError(kid);
    return key;
  }
}

// Domain-separated AAD; kid cannot contain NUL and the associated data comes last, so the encoding is unambiguous.
const wrapAad = (kid: string, associatedData: string): Buffer =>
  Buffer.from(`portcullis/envelope/${VERSION}/wrap\0${kid}\0${associatedData}`, 'utf8');
const dataAad = (associatedData: string): Buffer =>
  Buffer.from(`portcullis/envelope/${VERSION}/data\0${associatedData}`, 'utf8');

function assertAssociatedData(associatedData: string): void {
  // Empty associated data would bind the secret to nothing: always a bug.
  if (typeof associatedData !== 'string' || associatedData === '') {
    throw new TypeError('associatedData must be a non-empty string');
  }
}

function format({ kid, wrapped, iv, sealed }: Envelope): string {
  return [VERSION, kid, wrapped.toString('base64url'), iv.toString('base64url'), sealed.toString('base64url')].join('.');
}

function parse(value: string): Envelope {
  if (typeof value !== 'string') throw new TypeError('sealed value must be a string');
  const parts = value.split('.');
  if (parts.length !== 5) throw new DecryptionError('malformed envelope');
  const [version, kid, wrapped, iv, sealed] = parts as [string, string, string, string, string];
  if (version !== VERSION) throw new DecryptionError('unsupported envelope version');
  if (!isValidKid(kid)) throw new DecryptionError('malformed key id');
  const envelope: Envelope = {
    kid,
    wrapped: decodeBase64url(wrapped, 'wrapped key'),
    iv: decodeBase64url(iv, 'iv'),
    sealed: decodeBase64url(sealed, 'ciphertext'),
  };
  if (envelope.wrapped.length !== WRAPPED_BYTES || envelope.iv.length !== IV_BYTES || envelope.sealed.length < TAG_BYTES) {
    throw new DecryptionError('malformed envelope');
  }
  return envelope;
}
