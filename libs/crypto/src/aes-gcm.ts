import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptionError } from './errors';

// Library-internal AES-256-GCM helpers shared by the envelope cipher and the sealed box.

export const IV_BYTES = 12;
export const TAG_BYTES = 16;

/** Returns a fresh random iv and `ciphertext || tag`. */
export function gcmEncrypt(key: Buffer, plaintext: Buffer, aad: Buffer): { iv: Buffer; sealed: Buffer } {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { iv, sealed };
}

/** Opens `ciphertext || tag`; any mismatch (key, iv, aad, bytes) is a DecryptionError. */
export function gcmDecrypt(key: Buffer, iv: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (iv.length !== IV_BYTES || sealed.length < TAG_BYTES) throw new DecryptionError('malformed ciphertext');
  try {
    // authTagLength pins the tag size: without it Node accepts truncated tags.
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch (error) {
    throw new DecryptionError('decryption failed', { cause: error });
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Strict base64url: Node's decoder skips stray characters and ignores spare
 * trailing bits, so a tampered string could decode to the same bytes; only the
 * canonical encoding is accepted.
 */
export function decodeBase64url(text: string, what: string): Buffer {
  const bytes = BASE64URL.test(text) ? Buffer.from(text, 'base64url') : undefined;
  if (!bytes || bytes.toString('base64url') !== text) throw new DecryptionError(`malformed ${what}`);
  return bytes;
}
