import { loadConfig, NatsConnectionConfig, Settings } from '@portcullis/telemetry';
import { z } from 'zod';

export const RegistryConfigSchema = z.object({
  ...NatsConnectionConfig,
  DATABASE_URL: Settings.databaseUrl(),
  LOG_LEVEL: Settings.logLevel(),
  /** Prepended to every bus subject; only for isolating test runs. */
  BUS_SUBJECT_PREFIX: Settings.busSubjectPrefix(),
  HOST: Settings.host(),
  REGISTRY_PORT: Settings.port(8081),
  /** Allow upstream URLs on private, loopback and link-local addresses (SSRF guard off). */
  OUTBOUND_ALLOW_PRIVATE: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false')
    .transform((value) => value === 'true'),
});
export type RegistryConfig = z.infer<typeof RegistryConfigSchema>;

/** Validates the environment once at boot; throws `ConfigError` (one line) when a setting is bad. */
export function loadRegistryConfig(env: NodeJS.ProcessEnv): RegistryConfig {
  return loadConfig(RegistryConfigSchema, env, 'registry');
}
