import { z } from 'zod';
import { Keyring } from './keyring';
import { KeyringConfigError } from './errors';

/**
 * A `kid1:base64,kid2:base64` keyring from the environment (`VAULT_KEYS`,
 * `IDENTITY_KEYS`, `SESSION_KEYS`): the first key seals, all of them open.
 * A problem is named by entry position only: the keyring's message may quote
 * a kid, and with a misplaced separator ("abcdefgh:ijk...") a "kid" is key
 * material, so quoted kids are dropped and any piece of the value still in
 * the line is redacted.
 */
export function keyringSetting(variable: string) {
  return z.string().transform((spec, ctx) => {
    try {
      return Keyring.parse(spec, variable);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof KeyringConfigError ? withoutSpecText(error.message, spec) : 'must be kid:base64key[,kid:base64key...]' });
      return z.NEVER;
    }
  });
}

function withoutSpecText(message: string, spec: string): string {
  let text = message.replace(/ \(kid "[^"]*"\)/g, '');
  const pieces = spec.split(/[,:\s]+/).filter((piece) => piece.length >= 4);
  for (const piece of pieces.sort((a, b) => b.length - a.length)) text = text.split(piece).join('[redacted]');
  return text;
}
