import { z } from 'zod';
import { LOG_LEVELS } from './logger';

/**
 * Schemas of the settings every service shares (DESIGN §12), so a bad value is
 * refused the same way everywhere and named in the one-line start-up error.
 */
export const Settings = {
  /** An optional variable set to the empty string (common in compose files) counts as unset. */
  optional: <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional()),
  natsUrl: () =>
    z
      .string()
      .min(1)
      .refine((value) => value.split(',').every((server) => /^(nats|tls):\/\/[^\s/]+(:\d+)?\/?$/.test(server.trim())), 'must be nats://host:port or tls://host:port (comma-separated for a cluster)'),
  databaseUrl: () => z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// URL'),
  logLevel: () => z.enum(LOG_LEVELS).default('info'),
  host: (fallback = '0.0.0.0') => z.string().min(1).default(fallback),
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  /** A comma-separated list, each item checked by `item`; unset or empty is the empty list. */
  commaList: <T extends z.ZodType<string, string>>(item: T) =>
    z
      .string()
      .optional()
      .transform((value) => (value ?? '').split(',').map((part) => part.trim()).filter((part) => part !== ''))
      .pipe(z.array(item)),
  busSubjectPrefix: () => Settings.optional(z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ or -')),
} as const;

/**
 * How a service reaches NATS (DESIGN §3, deploy/nats): the URL, its own user
 * (one per service, with subject permissions) and TLS files. Spread into each
 * service's config schema.
 */
export const NatsConnectionConfig = {
  NATS_URL: Settings.natsUrl(),
  NATS_USER: Settings.optional(z.string().min(1)),
  NATS_PASSWORD: Settings.optional(z.string().min(1)),
  /** CA bundle to verify the server with (TLS); the client certificate and key when the server asks for one. */
  NATS_TLS_CA_FILE: Settings.optional(z.string().min(1)),
  NATS_TLS_CERT_FILE: Settings.optional(z.string().min(1)),
  NATS_TLS_KEY_FILE: Settings.optional(z.string().min(1)),
};

/** The credentials and TLS part of {@link NatsConnectionConfig}, as the bus takes them. */
export interface NatsAuthSettings {
  user?: string;
  pass?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
}

export function natsAuthOf(config: { NATS_USER?: string; NATS_PASSWORD?: string; NATS_TLS_CA_FILE?: string; NATS_TLS_CERT_FILE?: string; NATS_TLS_KEY_FILE?: string }): NatsAuthSettings {
  const tlsFiles = { caFile: config.NATS_TLS_CA_FILE, certFile: config.NATS_TLS_CERT_FILE, keyFile: config.NATS_TLS_KEY_FILE };
  const usesTls = Object.values(tlsFiles).some((file) => file !== undefined);
  return {
    ...(config.NATS_USER !== undefined && { user: config.NATS_USER }),
    ...(config.NATS_PASSWORD !== undefined && { pass: config.NATS_PASSWORD }),
    ...(usesTls && { tls: Object.fromEntries(Object.entries(tlsFiles).filter(([, file]) => file !== undefined)) }),
  };
}
