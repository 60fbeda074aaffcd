import { keyringSetting } from '@portcullis/crypto';
import { loadConfig, NatsConnectionConfig, Settings } from '@portcullis/telemetry';
import { z } from 'zod';

/** token-vault's environment (DESIGN §12), validated once at boot. */
export const TokenVaultConfigSchema = z.object({
  DATABASE_URL: Settings.databaseUrl(),
  ...NatsConnectionConfig,
  VAULT_KEYS: keyringSetting('VAULT_KEYS'),
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
