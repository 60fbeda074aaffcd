import type { Bus } from '@portcullis/bus';
import type { Keyring } from '@portcullis/crypto';
import type { Logger } from '@portcullis/telemetry';

export interface EdgeProxyModuleOptions {
  bus: Bus;
  /** Whether closing this app closes the bus (false when several apps share one bus, as in all-in-one). */
  closeBusOnShutdown: boolean;
  logger: Logger;
  /** Absolute URL agents reach this edge at, e.g. `https://gateway.example.com`; used in challenges and metadata. */
  publicUrl: string;
  /** Largest request body accepted on `/mcp/{slug}`, in bytes. */
  maxRequestBytes: number;
  /** Folder where audit events wait when the bus cannot take them (default `<tmpdir>/portcullis-spool`). */
  auditSpoolDir?: string;
  /** How long the first audit event of a batch waits for others (`AUDIT_BATCH_LINGER_MS`; default AUDIT_BATCH_LINGER_MS of audit-batcher.ts). */
  auditBatchLingerMs?: number;
  /** How often a non-empty audit spool is offered to the bus again (default 2000 ms). */
  auditSpoolReplayIntervalMs?: number;
  /** Whether upstreams may be on private, loopback or link-local addresses (`OUTBOUND_ALLOW_PRIVATE`); default false: refused at connect time. */
  outboundAllowPrivate?: boolean;
  /** `Host` values `/mcp` accepts besides the public URL's, `localhost` and address literals (`ALLOWED_HOSTS`). */
  allowedHosts?: readonly string[];
  /** Browser origins `/mcp` accepts besides the public URL's and same-origin requests (`ALLOWED_ORIGINS`). */
  allowedOrigins?: readonly string[];
  /**
   * Keys sealing the `Mcp-Session-Id`s the edge hands out (`SESSION_KEYS`): the first seals, every one opens. Every
   * replica needs the same ring. Without it, a random key of this instance: its sessions open on it alone.
   */
  sessionKeys?: Keyring;
  /** Longest a sealed session id opens after it was issued, in seconds (`SESSION_MAX_AGE`); default a day. */
  sessionMaxAgeSeconds?: number;
  /** Whether `/login` offers the form that signs a user in with their API key (all-in-one without a browser-login provider); default false. */
  browserLoginApiKeyForm?: boolean;
}

/** Injection token of the {@link EdgeProxyModuleOptions} given to `EdgeProxyModule.register`. */
export const EDGE_PROXY_OPTIONS = Symbol('EDGE_PROXY_OPTIONS');
