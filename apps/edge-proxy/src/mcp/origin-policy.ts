import { isIP } from 'node:net';

/** Hosts and origins `/mcp` answers besides the public URL's own (`ALLOWED_HOSTS`, `ALLOWED_ORIGINS`). */
export interface OriginPolicySettings {
  publicUrl: string;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
}

/**
 * DNS-rebinding and cross-site protection for `/mcp` (DESIGN §7). A rebinding
 * attack reaches the gateway under the attacker's DNS name, so `Host` must be
 * the public URL's host, a configured one, `localhost` or an address literal
 * (an address cannot be rebound). `Origin`, which browsers send on
 * cross-origin requests, must be the request's own origin, the public URL's,
 * or a configured one.
 */
export class OriginPolicy {
  private readonly hosts: Set<string>;
  private readonly origins: Set<string>;

  constructor(settings: OriginPolicySettings) {
    const publicUrl = new URL(settings.publicUrl);
    this.hosts = new Set([publicUrl.host, publicUrl.hostname, ...settings.allowedHosts].map((host) => host.toLowerCase()));
    this.origins = new Set([publicUrl.origin, ...settings.allowedOrigins.map((origin) => new URL(origin).origin)]);
  }

  /** Whether a request with these headers may go on; `host` is required by HTTP/1.1. */
  check(host: string | undefined, origin: string | undefined): 'ok' | 'Host' | 'Origin' {
    if (!host || !this.hostAllowed(host.toLowerCase())) return 'Host';
    if (origin !== undefined && !this.originAllowed(origin, host.toLowerCase())) return 'Origin';
    return 'ok';
  }

  private hostAllowed(host: string): boolean {
    if (this.hosts.has(host)) return true;
    const name = hostnameOf(host);
    if (name === null) return false;
    return this.hosts.has(name) || name === 'localhost' || isIP(name.replace(/^\[|\]$/g, '')) !== 0;
  }

  private originAllowed(origin: string, host: string): boolean {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      // `null` (sandboxed frames, file: pages) and garbage.
      return false;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
    return this.origins.has(parsed.origin) || parsed.host === host;
  }
}

/** The host name of a `Host` header value (`name[:port]`, `[v6]:port`), or null when it is not one. */
function hostnameOf(host: string): string | null {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return null;
  }
}
