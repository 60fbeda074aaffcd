import { LOG_LEVELS, loadConfig } from '@portcullis/telemetry';
import { z } from 'zod';

/** Shortest bootstrap token accepted: anything shorter is guessable. */
export const BOOTSTRAP_TOKEN_MIN_LENGTH = 32;

/** An optional variable set to the empty string (common in compose files) counts as unset. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

export const IdentityConfigSchema = z.object({
  NATS_URL: z.string().min(1),
  DATABASE_URL: z.string().min(1),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** Prepended to every bus subject; only for isolating test runs. */
  BUS_SUBJECT_PREFIX: optional(z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ or -')),
  HOST: z.string().min(1).default('0.0.0.0'),
  IDENTITY_PORT: z.coerce.number().int().min(0).max(65535).default(8083),
  PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN: optional(
    z.string().min(BOOTSTRAP_TOKEN_MIN_LENGTH, `must be at least ${BOOTSTRAP_TOKEN_MIN_LENGTH} characters`).max(8192),
  ),
});
export type IdentityConfig = z.infer<typeof IdentityConfigSchema>;

/** Validates the environment once at boot; throws `ConfigError` (one line) when a setting is bad. */
export function loadIdentityConfig(env: NodeJS.ProcessEnv): IdentityConfig {
  return loadConfig(IdentityConfigSchema, env, 'identity');
}
