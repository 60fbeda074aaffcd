import { loadConfig, NatsConnectionConfig, Settings } from '@portcullis/telemetry';
import { z } from 'zod';
import { SessionKeysSchema } from './session-keys.config';

export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;

const AllowedHostSchema = z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/, 'must be host names, optionally with :port');
const AllowedOriginSchema = z.url({ protocol: /^https?$/, error: 'must be http(s) origins' });

/** The DNS-rebinding guard's settings; all-in-one takes the same. */
export const OriginPolicyConfig = {
  /** `Host` values `/mcp` accepts besides the public URL's, `localhost` and addresses. */
  ALLOWED_HOSTS: Settings.commaList(AllowedHostSchema),
  /** Browser origins `/mcp` accepts besides the public URL's and same-origin requests. */
  ALLOWED_ORIGINS: Settings.commaList(AllowedOriginSchema),
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
    /** Prepended to every bus subject; only for isolating test runs. */
    BUS_SUBJECT_PREFIX: Settings.busSubjectPrefix(),
    /** Where audit events wait on local disk while NATS cannot take them; default `<tmpdir>/portcullis-spool`. */
    AUDIT_SPOOL_DIR: Settings.optional(z.string().min(1)),
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
