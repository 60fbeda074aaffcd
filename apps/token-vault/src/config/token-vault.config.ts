import { Keyring, KeyringConfigError } from '@portcullis/crypto';
import { loadConfig, NatsConnectionConfig, Settings } from '@portcullis/telemetry';
import { z } from 'zod';


/** `VAULT_KEYS=kid1:base64,kid2:base64`, parsed once; a problem is named by entry position only. */
const VaultKeysSchema = z.string().transform((spec, ctx) => {
  try {
    return Keyring.parse(spec, 'VAULT_KEYS');
  } catch (error) {
    const message = error instanceof KeyringConfigError ? withoutSpecText(error.message, spec) : 'must be kid:base64key[,kid:base64key...]';
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  }
});

/**
 * The keyring's message may quote a kid, and with a misplaced separator
 * ("abcdefgh:ijk...") a "kid" is key material. So nothing from the value
 * itself goes into the line: quoted kids are dropped, then any piece of the
 * value that still appears is redacted.
 */
function withoutSpecText(message: string, spec: string): string {
  let text = message.replace(/ \(kid "[^"]*"\)/g, '');
  const pieces = spec.split(/[,:\s]+/).filter((piece) => piece.length >= 4);
  for (const piece of pieces.sort((a, b) => b.length - a.length)) text = text.split(piece).join('[redacted]');
  return text;
}

/** token-vault's environment (DESIGN §12), validated once at boot. */
export const TokenVaultConfigSchema = z.object({
  DATABASE_URL: Settings.databaseUrl(),
  ...NatsConnectionConfig,
  VAULT_KEYS: VaultKeysSchema,
  LOG_LEVEL: Settings.logLevel(),
  /** Prepended to every bus subject; only for test isolation on a shared NATS. */
  BUS_SUBJECT_PREFIX: Settings.busSubjectPrefix(),
  HOST: Settings.host(),
  VAULT_PORT: Settings.port(8084),
  /** The gateway's public URL (as on the edge); needed for OAuth consent, whose callback is `{PUBLIC_URL}/oauth/callback`. */
  PUBLIC_URL: Settings.optional(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).transform((url) => url.replace(/\/+$/, ''))),
  /** Allow authorization servers on private, loopback and link-local addresses. */
  OUTBOUND_ALLOW_PRIVATE: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false')
    .transform((value) => value === 'true'),
});
export type TokenVaultConfig = z.infer<typeof TokenVaultConfigSchema>;

/** Throws `ConfigError` (one line, never a value) when the environment is wrong. */
export function loadTokenVaultConfig(env: NodeJS.ProcessEnv = process.env): TokenVaultConfig {
  return loadConfig(TokenVaultConfigSchema, env, 'token-vault');
}
