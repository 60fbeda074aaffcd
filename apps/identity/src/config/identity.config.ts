import { keyringSetting } from '@portcullis/crypto';
import { loadConfig, NatsConnectionConfig, Settings } from '@portcullis/telemetry';
import { z } from 'zod';

/** Shortest bootstrap token accepted: anything shorter is guessable. */
export const BOOTSTRAP_TOKEN_MIN_LENGTH = 32;

export const IdentityConfigSchema = z.object({
  ...NatsConnectionConfig,
  DATABASE_URL: Settings.databaseUrl(),
  LOG_LEVEL: Settings.logLevel(),
  /** Prepended to every bus subject; only for isolating test runs. */
  BUS_SUBJECT_PREFIX: Settings.busSubjectPrefix(),
  HOST: Settings.host(),
  IDENTITY_PORT: Settings.port(8083),
  PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN: Settings.optional(
    z.string().min(BOOTSTRAP_TOKEN_MIN_LENGTH, `must be at least ${BOOTSTRAP_TOKEN_MIN_LENGTH} characters`).max(8192),
  ),
  /** Seals identity's token-signing keys at rest; without it token exchange is disabled. */
  /** `kid1:base64,kid2:base64` (the format of `VAULT_KEYS`): seals identity's token-signing keys at rest. */
  IDENTITY_KEYS: Settings.optional(keyringSetting('IDENTITY_KEYS')),
  /** The gateway's public URL (as on the edge): `iss`/`aud` of the JWTs identity issues. */
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('http://localhost:8080')
    .transform((url) => url.replace(/\/+$/, '')),
});
export type IdentityConfig = z.infer<typeof IdentityConfigSchema>;

/** Validates the environment once at boot; throws `ConfigError` (one line) when a setting is bad. */
export function loadIdentityConfig(env: NodeJS.ProcessEnv): IdentityConfig {
  return loadConfig(IdentityConfigSchema, env, 'identity');
}
