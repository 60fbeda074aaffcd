import { z } from 'zod';
import { AuditBatchConfig, OriginPolicyConfig, SessionKeysSchema } from '@portcullis/edge-proxy';
import { loadConfig, NatsConnectionConfig, Settings } from '@portcullis/telemetry';

/** Everything is optional: with nothing set, all-in-one runs on embedded PostgreSQL and an in-process bus. */
export const AllInOneConfigSchema = z.object({
  PORTCULLIS_DATA_DIR: z.string().min(1).default('./.portcullis'),
  /** Where the edge spools audit events the bus cannot take; default `<PORTCULLIS_DATA_DIR>/spool`. */
  AUDIT_SPOOL_DIR: Settings.optional(z.string().min(1)),
  ...AuditBatchConfig,
  DATABASE_URL: Settings.optional(Settings.databaseUrl()),
  NATS_URL: Settings.optional(Settings.natsUrl()),
  /** With NATS_URL: the user, password and TLS files, as the distributed services take them (deploy/nats). */
  NATS_USER: NatsConnectionConfig.NATS_USER,
  NATS_PASSWORD: NatsConnectionConfig.NATS_PASSWORD,
  NATS_TLS_CA_FILE: NatsConnectionConfig.NATS_TLS_CA_FILE,
  NATS_TLS_CERT_FILE: NatsConnectionConfig.NATS_TLS_CERT_FILE,
  NATS_TLS_KEY_FILE: NatsConnectionConfig.NATS_TLS_KEY_FILE,
  BUS_SUBJECT_PREFIX: Settings.busSubjectPrefix(),
  PUBLIC_URL: Settings.optional(z.url({ protocol: /^https?$/ })),
  ...OriginPolicyConfig,
  VAULT_KEYS: Settings.optional(z.string().min(1)),
  /** Keys sealing MCP session ids; default: generated into `<PORTCULLIS_DATA_DIR>/session-keys`. */
  SESSION_KEYS: Settings.optional(SessionKeysSchema),
  PORTCULLIS_BOOTSTRAP_ADMIN_TOKEN: Settings.optional(z.string().min(32, 'must be at least 32 characters')),
  EMBEDDED_POSTGRES_PORT: Settings.port(54329),
  EDGE_PORT: Settings.port(8080),
  REGISTRY_PORT: Settings.port(8081),
  AUDIT_PORT: Settings.port(8082),
  HOST: Settings.host('127.0.0.1'),
  LOG_LEVEL: Settings.logLevel(),
  /** Allow upstream URLs on private, loopback and link-local addresses (the registry's SSRF guard off). */
  OUTBOUND_ALLOW_PRIVATE: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false')
    .transform((value) => value === 'true'),
});
export type AllInOneConfig = z.infer<typeof AllInOneConfigSchema>;

export function loadAllInOneConfig(env: NodeJS.ProcessEnv): AllInOneConfig {
  return loadConfig(AllInOneConfigSchema, env, 'all-in-one');
}
