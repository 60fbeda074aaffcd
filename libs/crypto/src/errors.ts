/**
 * Every error this library throws on bad configuration or untrusted input.
 * `code` is stable: match on it, not on the message. Misuse of the API
 * (wrong argument types) throws a plain `TypeError` instead.
 */
export class CryptoError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A keyring specification (`kid:base64,...`) is malformed. Never quotes key material. */
export class KeyringConfigError extends CryptoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KEYRING_CONFIG', message, options);
  }
}

/** A sealed value is malformed, was tampered with, or belongs to other associated data / another purpose. */
export class DecryptionError extends CryptoError {
  constructor(message = 'decryption failed', options?: { cause?: unknown }, code = 'ERR_DECRYPTION_FAILED') {
    super(code, message, options);
  }
}

/**
 * A sealed value names a key id the keyring does not hold (a key was retired
 * too early, or the value comes from elsewhere). A DecryptionError, so callers
 * that only care whether a value opened need one `catch`.
 */
export class UnknownKeyError extends DecryptionError {
  constructor(readonly kid: string) {
    super(`no key "${kid}" in the keyring`, undefined, 'ERR_UNKNOWN_KEY');
  }
}
