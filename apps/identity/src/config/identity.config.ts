import { loadConfig, Settings } from '@portcullis/telemetry';
import { z } from 'zod';

/** Shortest bootstrap token accepted: anything shorter is guessable. */
export const BOOTSTRAP_TOKEN_MIN_LENGTH = 32;

export const IdentityConfigSchema = z.object({
  NATS_URL: Settings.natsUrl(),
  DATABASE_URL: Settings.databaseUrl(),
  LOG_LEVEL: Settings.logLevel(),
  /** Prepended to every bus subject; only for isolating test runs. */
  BUS_SUBJECT_PREFIX: Settings.busSubjectPrefix(),
  HOST: Settings.host(),
  IDENTITY_PORT: Settings.port(8083),
  PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN: Settings.optional(
    z.string().min(BOOTSTRAP_TOKEN_MIN_LENGTH, `must be at least ${BOOTSTRAP_TOKEN_MIN_LENGTH} characters`).max(8192),
  ),
});
export type IdentityConfig = z.infer<typeof IdentityConfigSchema>;

/** Validates the environment once at boot; throws `ConfigError` (one line) when a setting is bad. */
export function loadIdentityConfig(env: NodeJS.ProcessEnv): IdentityConfig {
  return loadConfig(IdentityConfigSchema, env, 'identity');
}
