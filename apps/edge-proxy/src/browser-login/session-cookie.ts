/** The session cookie's name on HTTPS: `__Host-` pins it to this host, path `/`, Secure. */
export const SECURE_SESSION_COOKIE = '__Host-portcullis_session';
/** Its name on plain-HTTP loopback in development, where `__Host-` (which requires Secure) cannot be used. */
export const DEV_SESSION_COOKIE = 'portcullis_session';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface SessionCookiePolicy {
  name: string;
  secure: boolean;
}

/**
 * `__Host-portcullis_session` (Secure) unless the public URL is plain HTTP on
 * loopback (development), then `portcullis_session` without Secure. Any other
 * plain-HTTP public URL still gets the Secure cookie: browsers will not send it,
 * so sign-in fails closed rather than leaking the session over the network.
 */
export function sessionCookiePolicy(publicUrl: string): SessionCookiePolicy {
  const url = new URL(publicUrl);
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return { name: DEV_SESSION_COOKIE, secure: false };
  return { name: SECURE_SESSION_COOKIE, secure: true };
}

/** `Set-Cookie` for a session token: HttpOnly, SameSite=Lax, Path=/, no Domain. */
export function sessionCookie(policy: SessionCookiePolicy, token: string, maxAgeSeconds: number): string {
  return [`${policy.name}=${token}`, 'Path=/', `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`, 'HttpOnly', 'SameSite=Lax', ...(policy.secure ? ['Secure'] : [])].join('; ');
}

/** `Set-Cookie` that deletes the session cookie. */
export function clearedSessionCookie(policy: SessionCookiePolicy): string {
  return sessionCookie(policy, '', 0);
}

/** The session token in a `Cookie` header, or null. Only a `pcs_…` value is taken. */
export function readSessionCookie(policy: SessionCookiePolicy, cookieHeader: string | undefined): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== policy.name) continue;
    const value = part.slice(eq + 1).trim();
    return /^pcs_[A-Za-z0-9_-]{1,200}$/.test(value) ? value : null;
  }
  return null;
}

/**
 * Where to send the browser after sign-in: a same-origin path only (`/x…`),
 * never `//host`, `/\host`, a scheme, or anything with control characters.
 * Anything else becomes `fallback`.
 */
export function safeReturnTo(value: unknown, fallback = '/me'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return fallback;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return fallback;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return fallback;
  return value;
}

/** Whether a state-changing browser request comes from our own pages (`Origin`, else `Referer`). */
export function isSameOrigin(publicUrl: string, origin: string | undefined, referer: string | undefined): boolean {
  const expected = new URL(publicUrl).origin;
  if (origin !== undefined) return origin === expected;
  if (referer === undefined) return false;
  try {
    return new URL(referer).origin === expected;
  } catch {
    return false;
  }
}
