import { LOG_LEVELS, loadConfig } from '@portcullis/telemetry';
import { z } from 'zod';

/** An optional variable set to the empty string (common in compose files) counts as unset. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

export const RegistryConfigSchema = z.object({
  NATS_URL: z.string().min(1),
  DATABASE_URL: z.string().min(1),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** Prepended to every bus subject; only for isolating test runs. */
  BUS_SUBJECT_PREFIX: optional(z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ or -')),
  HOST: z.string().min(1).default('0.0.0.0'),
  REGISTRY_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
});
export type RegistryConfig = z.infer<typeof RegistryConfigSchema>;

/** Validates the environment once at boot; throws `ConfigError` (one line) when a setting is bad. */
export function loadRegistryConfig(env: NodeJS.ProcessEnv): RegistryConfig {
  return loadConfig(RegistryConfigSchema, env, 'registry');
}
