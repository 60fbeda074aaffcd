import { z } from 'zod';
import { loadConfig } from '@portcullis/telemetry';

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);

/** Everything is optional: with nothing set, all-in-one runs on embedded PostgreSQL and an in-process bus. */
export const AllInOneConfigSchema = z.object({
  PORTCULLIS_DATA_DIR: z.string().min(1).default('./.portcullis'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  NATS_URL: z.string().regex(/^(nats|tls):\/\//, 'must be a nats:// or tls:// URL').optional(),
  BUS_SUBJECT_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/).optional(),
  PUBLIC_URL: z.url().optional(),
  VAULT_KEYS: z.string().min(1).optional(),
  PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  EMBEDDED_POSTGRES_PORT: port(54329),
  EDGE_PORT: port(8080),
  REGISTRY_PORT: port(8081),
  AUDIT_PORT: port(8082),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type AllInOneConfig = z.infer<typeof AllInOneConfigSchema>;

export function loadAllInOneConfig(env: NodeJS.ProcessEnv): AllInOneConfig {
  return loadConfig(AllInOneConfigSchema, env, 'all-in-one');
}
