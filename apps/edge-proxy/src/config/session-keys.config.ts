import { Keyring, KeyringConfigError } from '@portcullis/crypto';
import { z } from 'zod';

/**
 * `SESSION_KEYS=kid1:base64,kid2:base64` (the format of `VAULT_KEYS`), keys
 * sealing MCP session ids: the first seals, all open, so a new key goes in
 * front and the old one leaves once its sessions may end. The keyring names a
 * bad entry by position only, so no key material reaches the message.
 */
export const SessionKeysSchema = z.string().transform((spec, ctx) => {
  try {
    return Keyring.parse(spec, 'SESSION_KEYS');
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof KeyringConfigError ? error.message : 'must be kid:base64key[,kid:base64key...]' });
    return z.NEVER;
  }
});
