import type { Keyring } from '@portcullis/crypto';

export const TOKEN_EXCHANGE_OPTIONS = Symbol('TOKEN_EXCHANGE_OPTIONS');

export interface TokenExchangeOptions {
  /** Encrypts the private signing keys at rest; without it identity issues no JWTs (token exchange answers `unauthorized_client`). */
  keyring?: Keyring;
  /** The gateway's public URL: `iss` and `aud` of every JWT identity issues. */
  publicUrl: string;
}
