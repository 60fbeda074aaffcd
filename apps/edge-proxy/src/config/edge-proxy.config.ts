import { loadConfig, NatsConnectionConfig, Settings } from '@portcullis/telemetry';
import { z } from 'zod';
import { SessionKeysSchema } from './session-keys.config';

export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** How long a sealed MCP session id opens after it was issued: a day, then the client initializes a new session. */
export const DEFAULT_SESSION_MAX_AGE_SECONDS = 24 * 60 * 60;
const DURATION_UNITS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** Seconds, bare (`86400`) or with a unit (`90m`, `24h`, `7d`); from a minute to 30 days. */
const SessionMaxAgeSchema = z
  .string()
  .regex(/^\d{1,7}[smhd]?$/, 'must be seconds, or a number with s, m, h or d (e.g. 24h)')
  .transform((value) => {
    const unit = /[smhd]$/.test(value) ? (value.slice(-1) as keyof typeof DURATION_UNITS) : 's';
    return Number.parseInt(value, 10) * DURATION_UNITS[unit];
  })
  .pipe(z.number().int().min(60, 'must be at least a minute').max(30 * 86_400, 'must be at most 30 days'));

const AllowedHostSchema = z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/, 'must be host names, optionally with :port');
const AllowedOriginSchema = z.url({ protocol: /^https?$/, error: 'must be http(s) origins' });

/** The DNS-rebinding guard's settings; all-in-one takes the same. */
export const OriginPolicyConfig = {
  /** `Host` values `/mcp` accepts besides the public URL's, `localhost` and addresses. */
  ALLOWED_HOSTS: Settings.commaList(AllowedHostSchema),
  /** Browser origins `/mcp` accepts besides the public URL's and same-origin requests. */
  ALLOWED_ORIGINS: Settings.commaList(AllowedOriginSchema),
};

/** How long the edge's first audit event waits for others to share its stream message; all-in-one takes the same. */
export const AuditBatchConfig = {
  /** Milliseconds, 0 to 1000; default `AUDIT_BATCH_LINGER_MS` of audit-batcher.ts. Longer: fewer stream messages, later in the trail. */
  AUDIT_BATCH_LINGER_MS: Settings.optional(z.coerce.number({ error: 'must be a number of milliseconds' }).int('must be whole milliseconds').min(0).max(1000)),
};

/** The edge-proxy's environment (DESIGN §12), validated once at boot. */
export const EdgeProxyConfigSchema = z
  .object({
    ...NatsConnectionConfig,
    /** Where agents reach the edge; defaults to `http://localhost:<EDGE_PORT>`. */
    PUBLIC_URL: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .optional(),
    EDGE_PORT: Settings.port(8080),
    HOST: Settings.host(),
    LOG_LEVEL: Settings.logLevel(),
    MAX_REQUEST_BYTES: z.coerce.number().int().positive().default(DEFAULT_MAX_REQUEST_BYTES),
    /** Keys sealing MCP session ids; every replica needs the same ones (DESIGN §7). */
    SESSION_KEYS: SessionKeysSchema,
    /** Longest a sealed session id is honoured after it was issued (seconds; `24h` style accepted); older ones answer 404. */
    SESSION_MAX_AGE: Settings.optional(SessionMaxAgeSchema).transform((seconds) => seconds ?? DEFAULT_SESSION_MAX_AGE_SECONDS),
    /** Prepended to every bus subject; only for isolating test runs. */
    BUS_SUBJECT_PREFIX: Settings.busSubjectPrefix(),
    /** Where audit events wait on local disk while NATS cannot take them; default `<tmpdir>/portcullis-spool`. */
    AUDIT_SPOOL_DIR: Settings.optional(z.string().min(1)),
    ...AuditBatchConfig,
    /** Allow upstreams on private, loopback and link-local addresses (SSRF guard at connect time off). */
    ...OriginPolicyConfig,
    OUTBOUND_ALLOW_PRIVATE: z
      .enum(['true', 'false'], { error: 'must be true or false' })
      .default('false')
      .transform((value) => value === 'true'),
  })
  .transform((env) => ({ ...env, PUBLIC_URL: (env.PUBLIC_URL ?? `http://localhost:${env.EDGE_PORT}`).replace(/\/+$/, '') }));
export type EdgeProxyConfig = z.infer<typeof EdgeProxyConfigSchema>;

/** Throws `ConfigError` (one line, no values) when the environment is wrong. */
export function loadEdgeProxyConfig(env: NodeJS.ProcessEnv = process.env): EdgeProxyConfig {
  return loadConfig(EdgeProxyConfigSchema, env, 'edge-proxy');
}
