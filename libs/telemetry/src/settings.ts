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
