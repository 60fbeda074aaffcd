export { CryptoError, DecryptionError, KeyringConfigError, UnknownKeyError } from './errors';
export { KEY_BYTES, Keyring } from './keyring';
export { keyringSetting } from './keyring-setting';
export { EnvelopeCipher } from './envelope-cipher';
export { SealedBox } from './sealed-box';
export {
  constantTimeEqual,
  generateToken,
  hashToken,
  tokenPrefix,
  TOKEN_ID_LENGTH,
  TOKEN_SECRET_BYTES,
  type GeneratedToken,
} from './token-hash';
