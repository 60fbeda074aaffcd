import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@portcullis/contracts';
import { DecryptionError, Keyring, SealedBox } from '@portcullis/crypto';
import { LOGGER, Logger } from '@portcullis/telemetry';
import { Clock } from '../clock';
import { DEFAULT_SESSION_MAX_AGE_SECONDS } from '../config/edge-proxy.config';
import { EDGE_PROXY_OPTIONS, EdgeProxyModuleOptions } from '../edge-proxy.options';
import { UnknownSessionError } from '../errors';
import { McpSession, McpSessionSchema, SessionTarget } from './mcp-session';

/** The SealedBox purpose: a session id never opens as anything else sealed under the same keys, nor the reverse. */
const PURPOSE = 'mcp-session/v1';
/** Longer header values are refused before any decoding; a real sealed id is a few hundred characters. */
const MAX_SEALED_ID_LENGTH = 4096;
/** Opened ids kept per replica (about 1 KiB each): the sessions active right now, not every session ever seen. */
export const MAX_OPENED_SESSIONS = 1024;

/**
 * Seals and opens the `Mcp-Session-Id`s the edge hands out (DESIGN §7):
 * AES-256-GCM under the first `SESSION_KEYS` key (every key in the ring
 * opens), so any replica holding the keys serves any session and none keeps
 * a table. Opening (decrypt, JSON and schema check) measured 30-60 µs per
 * request, against well under 1 µs for a map hit, so the ids opened lately are
 * kept in a small LRU keyed by the sealed string; only intact ids get there,
 * and the principal and target checks still run on every request.
 */
@Injectable()
export class SealedSessions {
  private readonly box: SealedBox;
  /** Recently opened sessions by sealed id, least recently used first (a Map keeps insertion order). */
  private readonly opened = new Map<string, Readonly<McpSession>>();
  private readonly maxAgeSeconds: number;

  constructor(
    @Inject(EDGE_PROXY_OPTIONS) options: EdgeProxyModuleOptions,
    private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    // Without configured keys, a random key of this instance: its sessions then open on it alone (tests, a single process).
    this.box = new SealedBox(options.sessionKeys ?? Keyring.generate('local'));
    this.maxAgeSeconds = options.sessionMaxAgeSeconds ?? DEFAULT_SESSION_MAX_AGE_SECONDS;
    if (!Number.isSafeInteger(this.maxAgeSeconds) || this.maxAgeSeconds <= 0) throw new TypeError('SealedSessions: sessionMaxAgeSeconds must be a positive integer');
  }

  seal(session: Omit<McpSession, 'issuedAt'>): string {
    const sealed: McpSession = { ...session, issuedAt: Math.floor(this.clock.nowMs() / 1000) };
    return this.box.seal(sealed, PURPOSE);
  }

  /**
   * The session a request names, or null when it names none. Anything else
   * than an intact id sealed by these keys, for this principal and this
   * target, no older than the maximum age, is an UnknownSessionError: the
   * client starts a new session.
   * @throws UnknownSessionError
   */
  open(sessionId: string | string[] | undefined, principal: Principal, target: SessionTarget): Readonly<McpSession> | null {
    if (sessionId === undefined) return null;
    if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > MAX_SEALED_ID_LENGTH) return this.refuse('malformed');
    const session = this.opened.get(sessionId) ?? this.unseal(sessionId);
    // A sealed id is a bearer of its session for as long as it opens: past its maximum age the client must initialize anew.
    if (Math.floor(this.clock.nowMs() / 1000) - session.issuedAt > this.maxAgeSeconds) {
      this.opened.delete(sessionId);
      return this.refuse('expired');
    }
    if (session.principalId !== principal.id) return this.refuse('another principal');
    const bound = session.target;
    if (bound.kind !== target.kind || bound.id !== target.id || bound.slug !== target.slug) return this.refuse('another target');
    this.remember(sessionId, session);
    return session;
  }

  private unseal(sessionId: string): Readonly<McpSession> {
    let opened: unknown;
    try {
      opened = this.box.open(sessionId, PURPOSE);
    } catch (error) {
      if (error instanceof DecryptionError) return this.refuse(error.code, error);
      throw error;
    }
    const session = McpSessionSchema.safeParse(opened);
    if (!session.success) return this.refuse('unexpected content');
    // Shared by every request of the session once cached: nobody may change it.
    Object.freeze(session.data.target);
    Object.freeze(session.data.upstreamSessions);
    return Object.freeze(session.data);
  }

  private remember(sessionId: string, session: Readonly<McpSession>): void {
    this.opened.delete(sessionId);
    this.opened.set(sessionId, session);
    if (this.opened.size > MAX_OPENED_SESSIONS) {
      const oldest = this.opened.keys().next().value;
      if (oldest !== undefined) this.opened.delete(oldest);
    }
  }

  private refuse(reason: string, cause?: unknown): never {
    // Why is logged (never the id itself): a burst of "another principal" is someone replaying a stolen id.
    this.logger.debug({ reason }, 'refused an MCP session id');
    throw new UnknownSessionError({ cause });
  }
}
