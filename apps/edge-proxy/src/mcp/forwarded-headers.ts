import type { IncomingHttpHeaders } from 'node:http';
import { HeaderNameSchema, HeaderValueSchema } from '@portcullis/contracts';

/**
 * The session header never passes through as is: the client holds a sealed
 * id and the upstream its own, and the proxy swaps one for the other.
 */
export const SESSION_HEADER = 'mcp-session-id';

/**
 * Client headers the upstream receives: the streamable HTTP transport's own,
 * nothing else. Above all never `authorization` (the gateway token) or `cookie`.
 */
export const FORWARDED_REQUEST_HEADERS = ['content-type', 'accept', 'mcp-protocol-version', 'last-event-id'] as const;

/** Upstream headers the client receives; no `set-cookie`, no challenges, no hop-by-hop headers. */
export const RETURNED_RESPONSE_HEADERS = ['content-type', 'content-encoding', 'cache-control', 'mcp-protocol-version', 'retry-after'] as const;

/** Headers a credential may not set: the transport's own, the session header included. */
const TRANSPORT_HEADERS: readonly string[] = [...FORWARDED_REQUEST_HEADERS, SESSION_HEADER];

type HeaderBag = Record<string, string | string[] | undefined>;

export interface UpstreamHeaders {
  headers: Record<string, string>;
  /** Names of injected headers refused as unsafe (never their values). */
  refused: string[];
}

/** Injected headers once checked: the safe ones lower-cased, and the names of the refused ones. */
interface CheckedInjectedHeaders {
  safe: Readonly<Record<string, string>>;
  refused: readonly string[];
}

// Checks of frozen header objects (the credential cache freezes what it keeps), so a cached credential is checked once, not per call.
const checkedFrozen = new WeakMap<object, CheckedInjectedHeaders>();

/**
 * Checks injected headers: the vault validates on write; this is the second
 * lock, so no credential can rewrite the protocol or split a header. A frozen
 * object (it cannot change) is checked once and the result remembered.
 */
export function checkInjectedHeaders(injected: Readonly<Record<string, string>>): CheckedInjectedHeaders {
  const known = checkedFrozen.get(injected);
  if (known) return known;
  const safe: Record<string, string> = {};
  const refused: string[] = [];
  for (const [name, value] of Object.entries(injected)) {
    const lower = name.toLowerCase();
    const ok = HeaderNameSchema.safeParse(name).success && HeaderValueSchema.safeParse(value).success && !TRANSPORT_HEADERS.includes(lower);
    if (ok) safe[lower] = value;
    else refused.push(name.slice(0, 100));
  }
  const checked: CheckedInjectedHeaders = { safe: Object.freeze(safe), refused: Object.freeze(refused) };
  if (Object.isFrozen(injected)) checkedFrozen.set(injected, checked);
  return checked;
}

/**
 * The headers of the request to the upstream: the client's transport headers,
 * the upstream's own session id (restored from the sealed one) and the credential's.
 */
export function upstreamRequestHeaders(client: IncomingHttpHeaders, injected: Readonly<Record<string, string>>, upstreamSessionId?: string): UpstreamHeaders {
  const headers = pick(client, FORWARDED_REQUEST_HEADERS);
  if (upstreamSessionId !== undefined) headers[SESSION_HEADER] = upstreamSessionId;
  const { safe, refused } = checkInjectedHeaders(injected);
  for (const name in safe) headers[name] = safe[name]!;
  return { headers, refused: [...refused] };
}

/** The headers of the answer to the client, with the sealed session id (if any) in place of the upstream's. */
export function clientResponseHeaders(upstream: HeaderBag, sealedSessionId?: string): Record<string, string> {
  const headers = pick(upstream, RETURNED_RESPONSE_HEADERS);
  if (sealedSessionId !== undefined) headers[SESSION_HEADER] = sealedSessionId;
  // Reverse proxies in front of the edge must not buffer a stream of events.
  if (headers['content-type']?.toLowerCase().startsWith('text/event-stream')) headers['x-accel-buffering'] = 'no';
  return headers;
}

function pick(bag: HeaderBag, names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = bag[name];
    if (typeof value === 'string') picked[name] = value;
    else if (Array.isArray(value) && value.length > 0) picked[name] = value.join(', ');
  }
  return picked;
}
