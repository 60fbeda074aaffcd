import { clearedSessionCookie, isSameOrigin, readSessionCookie, safeReturnTo, sessionCookie, sessionCookiePolicy } from './session-cookie';

describe('session-cookie', () => {
  describe(sessionCookiePolicy.name, () => {
    it('uses __Host-portcullis_session with Secure on HTTPS', () => {
      expect(sessionCookiePolicy('https://gateway.example.com')).toEqual({ name: '__Host-portcullis_session', secure: true });
    });

    it('uses portcullis_session without Secure on plain-HTTP loopback only', () => {
      expect(sessionCookiePolicy('http://localhost:8080')).toEqual({ name: 'portcullis_session', secure: false });
      expect(sessionCookiePolicy('http://127.0.0.1:8080')).toEqual({ name: 'portcullis_session', secure: false });
    });

    it('keeps Secure on plain HTTP off loopback, so a session is never sent in clear over a network', () => {
      expect(sessionCookiePolicy('http://gateway.example.com')).toEqual({ name: '__Host-portcullis_session', secure: true });
    });
  });

  describe(sessionCookie.name, () => {
    it('sets HttpOnly, SameSite=Lax, Path=/, Secure and no Domain', () => {
      const cookie = sessionCookie(sessionCookiePolicy('https://g.example'), 'pcs_a_b', 3600);
      expect(cookie).toBe('__Host-portcullis_session=pcs_a_b; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure');
      expect(cookie).not.toMatch(/Domain/i);
      expect(clearedSessionCookie(sessionCookiePolicy('https://g.example'))).toContain('Max-Age=0');
    });
  });

  describe(readSessionCookie.name, () => {
    it('reads only a pcs_ token under the policy name', () => {
      const policy = sessionCookiePolicy('https://g.example');
      expect(readSessionCookie(policy, 'a=b; __Host-portcullis_session=pcs_x_y')).toBe('pcs_x_y');
      expect(readSessionCookie(policy, 'portcullis_session=pcs_x_y')).toBeNull();
      expect(readSessionCookie(policy, '__Host-portcullis_session=pcl_apikey_z')).toBeNull();
      expect(readSessionCookie(policy, undefined)).toBeNull();
    });
  });

  describe(safeReturnTo.name, () => {
    it('keeps same-origin relative paths', () => {
      expect(safeReturnTo('/me/connections?x=1')).toBe('/me/connections?x=1');
    });

    it('ignores open-redirect targets (absolute, protocol-relative, backslash, control characters)', () => {
      for (const evil of ['https://evil.example/', '//evil.example', '/\\evil.example', 'javascript:alert(1)', '/a\r\nSet-Cookie: x', 'me', '']) {
        expect(safeReturnTo(evil)).toBe('/me');
      }
      expect(safeReturnTo(undefined)).toBe('/me');
    });
  });

  describe(isSameOrigin.name, () => {
    it('refuses cross-site form posts (CSRF) and accepts our own origin', () => {
      expect(isSameOrigin('https://g.example', 'https://g.example', undefined)).toBe(true);
      expect(isSameOrigin('https://g.example', undefined, 'https://g.example/login')).toBe(true);
      expect(isSameOrigin('https://g.example', 'https://evil.example', 'https://g.example/login')).toBe(false);
      expect(isSameOrigin('https://g.example', undefined, 'https://evil.example/')).toBe(false);
      expect(isSameOrigin('https://g.example', undefined, undefined)).toBe(false);
      expect(isSameOrigin('https://g.example', 'null', undefined)).toBe(false);
    });
  });
});
