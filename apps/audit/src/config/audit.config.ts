import { loadConfig } from '@portcullis/telemetry';
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The audit service's environment (DESIGN §12), validated once at boot. */
export const AuditConfigSchema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  NATS_URL: z.string().min(1),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** Prepended to every bus subject; only for test isolation on a shared NATS. */
  BUS_SUBJECT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be letters, digits, "_" or "-"')
    .optional(),
  HOST: z.string().min(1).default('0.0.0.0'),
  AUDIT_PORT: z.coerce.number().int().min(1).max(65535).default(8082),
});
export type AuditConfig = z.infer<typeof AuditConfigSchema>;

/** Throws `ConfigError` (one line, no values) when the environment is wrong. */
export function loadAuditConfig(env: NodeJS.ProcessEnv = process.env): AuditConfig {
  return loadConfig(AuditConfigSchema, env, 'audit');
}
