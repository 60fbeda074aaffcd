import { Injectable } from '@nestjs/common';

/** Sessions remembered per edge replica; the oldest are forgotten first (they then get the plain -32001 answer). */
export const MAX_REMEMBERED_SESSIONS = 10_000;
const MAX_SESSION_ID_LENGTH = 200;

/**
 * Which MCP sessions declared URL elicitation in their `initialize`, so a
 * consent needed later in the session is answered with -32042 rather than
 * -32001 (DESIGN §6). Keyed by slug and session id (the upstream's for a
 * plain server, the edge's own for a virtual server). Only "declared" is
 * stored; a session not found here is answered -32001, which every client
 * understands. Per replica and bounded until sessions are sealed (issue 7):
 * the sealed session id will carry this flag itself, and this map goes.
 */
@Injectable()
export class UrlElicitationSessions {
  private readonly declared = new Set<string>();

  remember(slug: string, sessionId: string | string[] | undefined): void {
    const key = keyOf(slug, sessionId);
    if (key === null) return;
    this.declared.delete(key);
    this.declared.add(key);
    // A Set keeps insertion order: the first keys are the oldest sessions.
    while (this.declared.size > MAX_REMEMBERED_SESSIONS) {
      const oldest = this.declared.values().next().value;
      if (oldest === undefined) break;
      this.declared.delete(oldest);
    }
  }

  has(slug: string, sessionId: string | string[] | undefined): boolean {
    const key = keyOf(slug, sessionId);
    return key !== null && this.declared.has(key);
  }

  forget(slug: string, sessionId: string | string[] | undefined): void {
    const key = keyOf(slug, sessionId);
    if (key !== null) this.declared.delete(key);
  }
}

function keyOf(slug: string, sessionId: string | string[] | undefined): string | null {
  if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > MAX_SESSION_ID_LENGTH) return null;
  return `${slug}\n${sessionId}`;
}
