import { loadConfig, NatsConnectionConfig, Settings } from '@portcullis/telemetry';
import { z } from 'zod';


/** The audit service's environment (DESIGN §12), validated once at boot. */
export const AuditConfigSchema = z.object({
  DATABASE_URL: Settings.databaseUrl(),
  ...NatsConnectionConfig,
  LOG_LEVEL: Settings.logLevel(),
  /** Prepended to every bus subject; only for test isolation on a shared NATS. */
  BUS_SUBJECT_PREFIX: Settings.busSubjectPrefix(),
  HOST: Settings.host(),
  AUDIT_PORT: Settings.port(8082),
});
export type AuditConfig = z.infer<typeof AuditConfigSchema>;

/** Throws `ConfigError` (one line, no values) when the environment is wrong. */
export function loadAuditConfig(env: NodeJS.ProcessEnv = process.env): AuditConfig {
  return loadConfig(AuditConfigSchema, env, 'audit');
}
