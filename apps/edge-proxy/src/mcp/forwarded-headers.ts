import type { IncomingHttpHeaders } from 'node:http';
import { HeaderNameSchema, HeaderValueSchema } from '@portcullis/contracts';

/**
 * Client headers the upstream receives: the streamable HTTP transport's own,
 * nothing else. Above all never `authorization` (the gateway token) or `cookie`.
 */
export const FORWARDED_REQUEST_HEADERS = ['content-type', 'accept', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id'] as const;

/** Upstream headers the client receives; no `set-cookie`, no challenges, no hop-by-hop headers. */
export const RETURNED_RESPONSE_HEADERS = ['content-type', 'content-encoding', 'cache-control', 'mcp-session-id', 'mcp-protocol-version', 'retry-after'] as const;

type HeaderBag = Record<string, string | string[] | undefined>;

export interface UpstreamHeaders {
  headers: Record<string, string>;
  /** Names of injected headers refused as unsafe (never their values). */
  refused: string[];
}

/** The headers of the request to the upstream: the client's transport headers plus the credential's. */
export function upstreamRequestHeaders(client: IncomingHttpHeaders, injected: Record<string, string>): UpstreamHeaders {
  const headers = pick(client, FORWARDED_REQUEST_HEADERS);
  const refused: string[] = [];
  for (const [name, value] of Object.entries(injected)) {
    const lower = name.toLowerCase();
    // The vault validates on write; this is the second lock, so no credential can rewrite the protocol or split a header.
    const safe =
      HeaderNameSchema.safeParse(name).success && HeaderValueSchema.safeParse(value).success && !(FORWARDED_REQUEST_HEADERS as readonly string[]).includes(lower);
    if (safe) headers[lower] = value;
    else refused.push(name.slice(0, 100));
  }
  return { headers, refused };
}

/** The headers of the answer to the client. */
export function clientResponseHeaders(upstream: HeaderBag): Record<string, string> {
  const headers = pick(upstream, RETURNED_RESPONSE_HEADERS);
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
