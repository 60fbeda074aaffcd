import { keyringSetting } from '@portcullis/crypto';

/**
 * `SESSION_KEYS=kid1:base64,kid2:base64` (the format of `VAULT_KEYS`), keys
 * sealing MCP session ids: the first seals, all open, so a new key goes in
 * front and the old one leaves once its sessions may end.
 */
export const SessionKeysSchema = keyringSetting('SESSION_KEYS');
