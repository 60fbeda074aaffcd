import { z } from 'zod';

/** What a session is bound to: a server or a virtual server, by id and slug (either changing ends the session). */
export const SessionTargetSchema = z.object({
  kind: z.enum(['server', 'virtual']),
  id: z.string().min(1),
  slug: z.string().min(1),
});
export type SessionTarget = z.infer<typeof SessionTargetSchema>;

/**
 * An upstream session id the edge carries: visible ASCII as the spec asks (it goes back into a header), at most 512
 * characters (the sealed id grows with it; real servers use UUIDs).
 */
const UPSTREAM_SESSION_ID = /^[\x21-\x7E]{1,512}$/;

export function isUpstreamSessionId(value: unknown): value is string {
  return typeof value === 'string' && UPSTREAM_SESSION_ID.test(value);
}

/**
 * Everything the edge knows about an MCP session, sealed into the
 * `Mcp-Session-Id` it hands out (DESIGN §7), so no replica keeps a table.
 */
export const McpSessionSchema = z.object({
  principalId: z.string().min(1),
  target: SessionTargetSchema,
  /**
   * Upstream session ids by upstream server id: the server's own for a plain
   * server; for a virtual server, one per upstream it could open a session on
   * at `initialize` (the others are called in short sessions of their own).
   */
  upstreamSessions: z.record(z.string(), z.string().regex(UPSTREAM_SESSION_ID)),
  /** The protocol version of the session: negotiated by the edge for a virtual server, as the client asked at `initialize` for a plain one. */
  protocolVersion: z.string().nullable(),
  /** Whether the client declared URL elicitation at `initialize`: consent is then answered -32042, else -32001 (DESIGN §6). */
  urlElicitation: z.boolean(),
  /**
   * Legacy HTTP+SSE servers only (docs/sessions.md): the client's `initialize` params, bounded, with which any replica
   * initializes a new upstream connection for this session.
   */
  legacyInitialize: z.record(z.string(), z.unknown()).optional(),
  /** When the edge sealed it, in seconds since the epoch. */
  issuedAt: z.number().int().nonnegative(),
});
export type McpSession = z.infer<typeof McpSessionSchema>;
